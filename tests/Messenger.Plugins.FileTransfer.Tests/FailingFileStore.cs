using Messenger.Contracts.Storage;

namespace Messenger.Plugins.FileTransfer.Tests;

/// <summary>A real store whose writers fail like a full disk once a file reaches <paramref name="failAtBytes"/>.</summary>
internal sealed class FailingFileStore(IFileStore inner, long failAtBytes) : IFileStore
{
    public async ValueTask<IStoredFileWriter> OpenWriteAsync(string fileId, StoredFileMetadata metadata, CancellationToken cancellationToken = default) =>
        new Writer(await inner.OpenWriteAsync(fileId, metadata, cancellationToken), failAtBytes);

    public ValueTask<Stream> OpenReadAsync(string fileId, CancellationToken cancellationToken = default) => inner.OpenReadAsync(fileId, cancellationToken);

    public ValueTask<StoredFileInfo?> GetInfoAsync(string fileId, CancellationToken cancellationToken = default) => inner.GetInfoAsync(fileId, cancellationToken);

    public ValueTask<bool> DeleteAsync(string fileId, CancellationToken cancellationToken = default) => inner.DeleteAsync(fileId, cancellationToken);

    public IAsyncEnumerable<StoredFileInfo> ListAsync(CancellationToken cancellationToken = default) => inner.ListAsync(cancellationToken);

    private sealed class Writer(IStoredFileWriter inner, long failAtBytes) : IStoredFileWriter
    {
        public string FileId => inner.FileId;

        public long Length => inner.Length;

        public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) =>
            inner.Length + data.Length > failAtBytes
                ? throw new IOException("No space left on device")
                : inner.WriteAsync(data, cancellationToken);

        public ValueTask FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);

        public ValueTask TruncateAsync(long length, CancellationToken cancellationToken = default) => inner.TruncateAsync(length, cancellationToken);

        public ValueTask<StoredFileInfo> CompleteAsync(CancellationToken cancellationToken = default) => inner.CompleteAsync(cancellationToken);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
