using System.Buffers;
using System.Text;

namespace Messenger.Plugins.FileTransfer;

/// <summary>Turns a name from the peer into a harmless display and storage name: one path segment, no tricks.</summary>
public static class OfferedFileName
{
    /// <summary>Names longer than this (in UTF-16 units) are refused outright rather than cut.</summary>
    public const int MaxRawLength = 4096;

    /// <summary>The longest sanitised name, in UTF-8 bytes (ext4 allows 255; leave room for " (n)").</summary>
    public const int MaxBytes = 200;

    private static readonly SearchValues<char> Forbidden = SearchValues.Create("<>:\"|?*");

    private static readonly HashSet<string> Reserved = new(StringComparer.OrdinalIgnoreCase)
    {
        "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
        "COM0", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9",
        "LPT0", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
    };

    /// <summary>Sanitises a name: last path segment, no control or reserved characters, no device names, bounded length.</summary>
    /// <param name="raw">The name from the offer.</param>
    /// <returns>A safe name, never empty.</returns>
    public static string Sanitise(string raw)
    {
        ArgumentNullException.ThrowIfNull(raw);
        var segment = raw[(raw.AsSpan().LastIndexOfAny('/', '\\') + 1)..];
        var builder = new StringBuilder(segment.Length);
        foreach (var c in segment)
        {
            if (!char.IsControl(c) && !Forbidden.Contains(c) && c is not ('\u202E' or '\u202D' or '\u200E' or '\u200F'))
            {
                builder.Append(c);
            }
        }

        var name = builder.ToString().Trim().TrimStart('.').TrimEnd('.', ' ');
        if (name.Length == 0)
        {
            return "file";
        }

        var dot = name.IndexOf('.', StringComparison.Ordinal);
        var stem = dot < 0 ? name : name[..dot];
        if (Reserved.Contains(stem.TrimEnd()))
        {
            name = "_" + name;
        }

        return Shorten(name);
    }

    private static string Shorten(string name)
    {
        if (Encoding.UTF8.GetByteCount(name) <= MaxBytes)
        {
            return name;
        }

        var dot = name.LastIndexOf('.');
        var extension = dot > 0 && name.Length - dot <= 16 ? name[dot..] : "";
        var stem = name[..(name.Length - extension.Length)];
        var budget = MaxBytes - Encoding.UTF8.GetByteCount(extension);
        var length = stem.Length;
        while (length > 0 && Encoding.UTF8.GetByteCount(stem.AsSpan(0, length)) > budget)
        {
            length--;
        }

        // Never cut a surrogate pair in half.
        if (length > 0 && char.IsHighSurrogate(stem[length - 1]))
        {
            length--;
        }

        return stem[..length] + extension;
    }
}
