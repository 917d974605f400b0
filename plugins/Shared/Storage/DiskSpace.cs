namespace Messenger.Plugins.Storage.Sqlite;

/// <summary>The space a store's files may still take, for <c>IFileStore.AvailableBytes</c>.</summary>
internal static class DiskSpace
{
    /// <summary>Bytes available to this process on the file system holding <paramref name="folder"/>, or null when it cannot be read.</summary>
    public static long? AvailableBytes(string folder)
    {
        try
        {
            // On Linux DriveInfo takes any path and asks statvfs about the file system it is on.
            return new DriveInfo(Path.GetFullPath(folder)).AvailableFreeSpace;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }
}
