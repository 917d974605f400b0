using Messenger.Contracts.Storage;

namespace Messenger.Plugins.FileTransfer.Tests;

/// <summary>
/// A real store whose writes can be held (a slow or stuck disk) and which counts every read: the receiver must never
/// read a fresh file back, and a held write must delay nothing but its own transfer.
/// </summary>
internal sealed class StallingFileStore(IFileStore inner) : IFileStore
{
    private readonly Lock _sync = new();
    private TaskCompletionSource _open = CompletedSource();
    private readonly TaskCompletionSource<string> _writeHeld = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private string? _onlyFile;
    private int _reads;

    /// <summary>Times <see cref="OpenReadAsync"/> was called.</summary>
    public int Reads => Volatile.Read(ref _reads);

    /// <summary>Completes with the file id of the first write that waits on a hold.</summary>
    public Task<string> WriteHeld
    {
        get
        {
            lock (_sync)
            {
                return _writeHeld.Task;
            }
        }
    }

    /// <summary>From now on every write waits until <see cref="Release"/> (or its cancellation).</summary>
    public void Hold()
    {
        lock (_sync)
        {
            if (_open.Task.IsCompleted)
            {
                _open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }

    /// <summary>From now on only writes to the file of the first held write wait; the others go on.</summary>
    public void NarrowToHeldFile()
    {
        lock (_sync)
        {
            _onlyFile = _writeHeld.Task.Result;
        }
    }

    /// <summary>Lets the held writes go on.</summary>
    public void Release()
    {
        lock (_sync)
        {
            _open.TrySetResult();
        }
    }

    public async ValueTask<IStoredFileWriter> OpenWriteAsync(string fileId, StoredFileMetadata metadata, CancellationToken cancellationToken = default) =>
        new Writer(this, await inner.OpenWriteAsync(fileId, metadata, cancellationToken));

    public ValueTask<Stream> OpenReadAsync(string fileId, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _reads);
        return inner.OpenReadAsync(fileId, cancellationToken);
    }

    public ValueTask<StoredFileInfo?> GetInfoAsync(string fileId, CancellationToken cancellationToken = default) => inner.GetInfoAsync(fileId, cancellationToken);

    public ValueTask<bool> DeleteAsync(string fileId, CancellationToken cancellationToken = default) => inner.DeleteAsync(fileId, cancellationToken);

    public IAsyncEnumerable<StoredFileInfo> ListAsync(CancellationToken cancellationToken = default) => inner.ListAsync(cancellationToken);

    private static TaskCompletionSource CompletedSource()
    {
        var source = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        source.SetResult();
        return source;
    }

    private async ValueTask PassAsync(string fileId, CancellationToken cancellationToken)
    {
        Task open;
        lock (_sync)
        {
            open = _onlyFile is null || _onlyFile == fileId ? _open.Task : Task.CompletedTask;
            if (!open.IsCompleted)
            {
                _writeHeld.TrySetResult(fileId);
            }
        }

        await open.WaitAsync(cancellationToken);
    }

    private sealed class Writer(StallingFileStore store, IStoredFileWriter inner) : IStoredFileWriter
    {
        public string FileId => inner.FileId;

        public long Length => inner.Length;

        public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
        {
            await store.PassAsync(inner.FileId, cancellationToken);
            await inner.WriteAsync(data, cancellationToken);
        }

        public ValueTask FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);

        public ValueTask TruncateAsync(long length, CancellationToken cancellationToken = default) => inner.TruncateAsync(length, cancellationToken);

        public ValueTask<StoredFileInfo> CompleteAsync(CancellationToken cancellationToken = default) => inner.CompleteAsync(cancellationToken);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }

    /// <summary>Holds the store a host builds, so a test can reach it.</summary>
    public sealed class Slot
    {
        public StallingFileStore? Store { get; private set; }

        public IFileStore Wrap(IFileStore inner) => Store ??= new StallingFileStore(inner);
    }
}
