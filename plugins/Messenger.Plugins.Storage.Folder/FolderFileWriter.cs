using Messenger.Contracts.Storage;
using Messenger.Plugins.Storage.Sqlite;

namespace Messenger.Plugins.Storage.Folder;

/// <summary>Appends to a part file; a flush syncs it to disk and only then records the new length in the index.</summary>
internal sealed class FolderFileWriter : IStoredFileWriter
{
    private readonly FolderFileStore store;
    private readonly FolderFileRow row;
    private readonly FileStream file;
    private bool completed;
    private bool disposed;
    private long completedLength;

    private FolderFileWriter(FolderFileStore store, FolderFileRow row, FileStream file)
    {
        this.store = store;
        this.row = row;
        this.file = file;
    }

    public string FileId => row.FileId;

    public long Length => completed ? completedLength : file.Position;

    public static FolderFileWriter Resume(FolderFileStore store, FolderFileRow row, string partPath)
    {
        var file = new FileStream(partPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read, bufferSize: 1024 * 1024);
        try
        {
            if (file.Length < row.Length)
            {
                throw new StorageIntegrityException($"The partial file '{partPath}' is shorter than its recorded {row.Length} bytes; it was changed outside Messenger.");
            }

            // Bytes past the recorded length were never flushed, so they are not part of the file.
            file.SetLength(row.Length);
            file.Position = row.Length;
            return new FolderFileWriter(store, row, file);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        return file.WriteAsync(data, cancellationToken);
    }

    public async ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        await CommitLengthAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask TruncateAsync(long length, CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, Length);
        file.Flush();
        file.SetLength(length);
        file.Position = length;
        await CommitLengthAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<StoredFileInfo> CompleteAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        file.Flush(flushToDisk: true);
        var length = file.Length;
        await file.DisposeAsync().ConfigureAwait(false);
        completedLength = length;
        completed = true;
        await store.PublishAsync(row, length, cancellationToken).ConfigureAwait(false);
        return row.Info with { Length = length, IsComplete = true };
    }

    public async ValueTask DisposeAsync()
    {
        if (disposed)
        {
            return;
        }

        try
        {
            if (!completed)
            {
                // A writer closed without completing keeps what it was given, as a paused transfer expects.
                await CommitLengthAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }
        finally
        {
            disposed = true;
            await file.DisposeAsync().ConfigureAwait(false);
            store.ReleaseWriter(row.FileId);
        }
    }

    private async ValueTask CommitLengthAsync(CancellationToken cancellationToken)
    {
        // The bytes reach the disk before the index says they exist.
        file.Flush(flushToDisk: true);
        var length = file.Position;
        await store.Database.RunAsync(c => c.Execute("UPDATE files SET length = $length WHERE file_id = $id", ("$length", length), ("$id", row.FileId)), cancellationToken)
            .ConfigureAwait(false);
    }

    private void ThrowIfClosed()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (completed)
        {
            throw new StorageException($"Stored file '{row.FileId}' is complete; no more writes are accepted.");
        }
    }
}
