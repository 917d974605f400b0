using System.Globalization;

namespace Messenger.Cli.Output;

/// <summary>Parses and prints sizes such as <c>200MB</c>, <c>1GiB</c>, <c>64k</c>.</summary>
internal static class ByteSize
{
    public static long Parse(string text, string optionName)
    {
        var trimmed = text.Trim();
        var split = trimmed.Length;
        while (split > 0 && char.IsLetter(trimmed[split - 1]))
        {
            split--;
        }

        if (!double.TryParse(trimmed[..split], NumberStyles.Float, CultureInfo.InvariantCulture, out var number) || number <= 0 || double.IsInfinity(number))
        {
            throw new CliException($"{optionName}: '{text}' is not a positive size such as 200MB.");
        }

        var unit = trimmed[split..].ToUpperInvariant();
        long multiplier = unit switch
        {
            "" or "B" => 1,
            "K" or "KB" => 1000,
            "KIB" => 1024,
            "M" or "MB" => 1000_000,
            "MIB" => 1024 * 1024,
            "G" or "GB" => 1000_000_000,
            "GIB" => 1024L * 1024 * 1024,
            _ => throw new CliException($"{optionName}: unknown unit '{trimmed[split..]}' in '{text}'; use B, KB, MB, GB, KiB, MiB or GiB."),
        };
        var bytes = number * multiplier;
        return bytes > long.MaxValue / 2 ? throw new CliException($"{optionName}: '{text}' is too large.") : (long)bytes;
    }

    public static string Format(long bytes) => bytes switch
    {
        >= 1_000_000_000 => (bytes / 1e9).ToString("0.##", CultureInfo.InvariantCulture) + " GB",
        >= 1_000_000 => (bytes / 1e6).ToString("0.##", CultureInfo.InvariantCulture) + " MB",
        >= 1_000 => (bytes / 1e3).ToString("0.##", CultureInfo.InvariantCulture) + " kB",
        _ => bytes.ToString(CultureInfo.InvariantCulture) + " B",
    };
}
