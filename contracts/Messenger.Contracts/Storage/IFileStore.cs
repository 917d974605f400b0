namespace Messenger.Contracts.Storage;

/// <summary>What a store keeps about a file beside its bytes.</summary>
/// <param name="FileName">The (sanitised) file name, for display and for stores that keep real file names.</param>
/// <param name="MediaType">The media type, or null when unknown.</param>
public sealed record StoredFileMetadata(string FileName, string? MediaType);

/// <summary>A stored file as listed by the store.</summary>
/// <param name="FileId">The id the file was written under.</param>
/// <param name="Metadata">Name and media type.</param>
/// <param name="Length">The bytes durably stored so far.</param>
/// <param name="IsComplete">True once <see cref="IStoredFileWriter.CompleteAsync"/> was called.</param>
/// <param name="CreatedAt">When the file was first opened for writing.</param>
public sealed record StoredFileInfo(string FileId, StoredFileMetadata Metadata, long Length, bool IsComplete, DateTimeOffset CreatedAt);

/// <summary>
/// Keeps the bytes of received files. Files are written as an appendable stream (so a transfer can resume where
/// it stopped) and read back with random access. Implementations are thread-safe for different file ids.
/// </summary>
public interface IFileStore
{
    /// <summary>
    /// Opens a file for appending: creates it when absent, or reopens an incomplete one at its durable length.
    /// </summary>
    /// <param name="fileId">The id; letters, digits, '-' and '_' only, at most 128 characters.</param>
    /// <param name="metadata">The file name and media type (used when the file is created).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The writer, positioned at the end of the durable prefix.</returns>
    /// <exception cref="StorageException">The file is already complete, or the store failed.</exception>
    ValueTask<IStoredFileWriter> OpenWriteAsync(string fileId, StoredFileMetadata metadata, CancellationToken cancellationToken = default);

    /// <summary>Opens a stored file (complete or not) for reading, with seeking.</summary>
    /// <param name="fileId">The id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A read-only, seekable stream of the plaintext; reads throw <see cref="StorageIntegrityException"/> on tampered data.</returns>
    /// <exception cref="StoredFileNotFoundException">No file has that id.</exception>
    ValueTask<Stream> OpenReadAsync(string fileId, CancellationToken cancellationToken = default);

    /// <summary>Describes one stored file.</summary>
    /// <param name="fileId">The id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The description, or null when no file has that id.</returns>
    ValueTask<StoredFileInfo?> GetInfoAsync(string fileId, CancellationToken cancellationToken = default);

    /// <summary>Deletes a stored file and everything kept for it.</summary>
    /// <param name="fileId">The id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>False when no file had that id.</returns>
    ValueTask<bool> DeleteAsync(string fileId, CancellationToken cancellationToken = default);

    /// <summary>Every stored file.</summary>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The files.</returns>
    IAsyncEnumerable<StoredFileInfo> ListAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// The bytes free where new files go (the file system's space available to this process), or null when the store
    /// cannot tell. A receiver refuses an offer the space cannot hold instead of failing half way. Since contracts
    /// 1.5; stores that do not implement it report null.
    /// </summary>
    long? AvailableBytes => null;
}

/// <summary>Appends to one stored file. Not thread-safe; one writer per file at a time.</summary>
public interface IStoredFileWriter : IAsyncDisposable
{
    /// <summary>The file id.</summary>
    string FileId { get; }

    /// <summary>The bytes written so far (durable up to the last <see cref="FlushAsync"/>).</summary>
    long Length { get; }

    /// <summary>Appends bytes.</summary>
    /// <param name="data">The bytes.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the bytes are accepted (not yet durable).</returns>
    ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default);

    /// <summary>Makes everything written so far durable: after a crash, reopening finds at least these bytes.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the bytes are durable.</returns>
    ValueTask FlushAsync(CancellationToken cancellationToken = default);

    /// <summary>Cuts the file back to <paramref name="length"/> bytes (at most <see cref="Length"/>).</summary>
    /// <param name="length">The new length.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the file is cut and durable.</returns>
    ValueTask TruncateAsync(long length, CancellationToken cancellationToken = default);

    /// <summary>Flushes and marks the file complete; no more writes are accepted.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The stored file's description.</returns>
    ValueTask<StoredFileInfo> CompleteAsync(CancellationToken cancellationToken = default);
}
