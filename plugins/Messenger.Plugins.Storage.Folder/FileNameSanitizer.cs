using System.Text;

namespace Messenger.Plugins.Storage.Folder;

/// <summary>Turns a peer-supplied file name into one that is safe to create in the downloads folder.</summary>
internal static class FileNameSanitizer
{
    private const int MaxUtf8Bytes = 200;
    private const string Fallback = "file";
    private static readonly string[] ReservedWindowsNames =
        ["CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9"];

    public static string Sanitize(string? name)
    {
        // Only the last path segment counts: "../../etc/passwd" becomes "passwd".
        var lastSegment = (name ?? string.Empty).Replace('\\', '/').Split('/')[^1];
        var builder = new StringBuilder(lastSegment.Length);
        foreach (var c in lastSegment)
        {
            builder.Append(char.IsControl(c) || c is ':' or '*' or '?' or '"' or '<' or '>' or '|' ? '_' : c);
        }

        // Leading dots would hide the file; trailing dots and spaces are dropped by Windows.
        var cleaned = builder.ToString().Trim().TrimStart('.').TrimEnd('.', ' ');
        if (cleaned.Length == 0)
        {
            return Fallback;
        }

        var stem = Path.GetFileNameWithoutExtension(cleaned);
        if (ReservedWindowsNames.Contains(stem, StringComparer.OrdinalIgnoreCase))
        {
            cleaned = "_" + cleaned;
        }

        return Shorten(cleaned);
    }

    /// <summary>"name.ext" → "name (n).ext", for the n-th clash in the folder.</summary>
    public static string Numbered(string name, int number)
    {
        var extension = Path.GetExtension(name);
        return Shorten($"{Path.GetFileNameWithoutExtension(name)} ({number}){extension}");
    }

    private static string Shorten(string name)
    {
        if (Encoding.UTF8.GetByteCount(name) <= MaxUtf8Bytes)
        {
            return name;
        }

        // Keep the extension so the file still opens with the right program.
        var extension = Path.GetExtension(name);
        if (Encoding.UTF8.GetByteCount(extension) > 20)
        {
            extension = string.Empty;
        }

        var stem = Path.GetFileNameWithoutExtension(name);
        var budget = MaxUtf8Bytes - Encoding.UTF8.GetByteCount(extension);
        var end = stem.Length;
        while (Encoding.UTF8.GetByteCount(stem.AsSpan(0, end)) > budget || (end > 0 && char.IsHighSurrogate(stem[end - 1])))
        {
            end--;
        }

        return stem[..end] + extension;
    }
}
