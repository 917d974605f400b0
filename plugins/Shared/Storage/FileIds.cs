namespace Messenger.Plugins.Storage.Sqlite;

/// <summary>The file-id rule of <see cref="Messenger.Contracts.Storage.IFileStore"/>: letters, digits, '-' and '_', 1 to 128 characters.</summary>
internal static class FileIds
{
    public const int MaxLength = 128;

    public static void Validate(string fileId)
    {
        ArgumentNullException.ThrowIfNull(fileId);
        if (fileId.Length is 0 or > MaxLength || !fileId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            throw new ArgumentException($"A file id is 1 to {MaxLength} ASCII letters, digits, '-' or '_'; got '{fileId}'.", nameof(fileId));
        }
    }
}
