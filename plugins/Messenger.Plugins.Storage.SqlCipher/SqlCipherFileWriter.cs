using System.Security.Cryptography;
using Messenger.Contracts.Storage;
using Messenger.Plugins.Storage.Sqlite;
using Microsoft.Win32.SafeHandles;

namespace Messenger.Plugins.Storage.SqlCipher;

/// <summary>
/// Appends to one stored file. Bytes stay in memory (inline files) or go straight to encrypted chunk slots; a flush
/// syncs the chunk file first and only then commits the new length and the partial last chunk to the database.
/// </summary>
internal sealed class SqlCipherFileWriter : IStoredFileWriter
{
    private readonly SqlCipherFileStore store;
    private readonly FileRow row;
    private byte[]? inline;
    private int inlineLength;
    private byte[]? fileKey;
    private ChunkCipher? cipher;
    private SafeFileHandle? chunkFile;
    private byte[] pending = [];
    private int pendingLength;
    private long fullChunks;
    private byte[] slot = [];
    private long durableLength;
    private bool completed;
    private bool disposed;

    private SqlCipherFileWriter(SqlCipherFileStore store, FileRow row)
    {
        this.store = store;
        this.row = row;
        durableLength = row.Length;
    }

    public string FileId => row.FileId;

    public long Length => cipher is null ? inlineLength : (fullChunks * cipher.ChunkSize) + pendingLength;

    /// <summary>Continues a file at its durable length.</summary>
    public static SqlCipherFileWriter Resume(SqlCipherFileStore store, FileRow row, byte[]? fileKey)
    {
        var writer = new SqlCipherFileWriter(store, row);
        try
        {
            if (row.ChunkSize is not { } chunkSize)
            {
                writer.inline = new byte[SqlCipherFileStore.InlineLimit];
                var data = row.InlineData ?? [];
                data.CopyTo(writer.inline, 0);
                writer.inlineLength = data.Length;
                return writer;
            }

            if (fileKey is null)
            {
                throw new StorageIntegrityException($"The key of stored file '{row.FileId}' does not unwrap under this store's key; the store was tampered with.");
            }

            writer.StartChunks(fileKey, chunkSize, FileMode.OpenOrCreate);
            var tail = row.Tail ?? [];
            tail.CopyTo(writer.pending, 0);
            writer.pendingLength = tail.Length;
            writer.fullChunks = row.FullChunks;
            if (RandomAccess.GetLength(writer.chunkFile!) < row.FullChunks * writer.cipher!.SlotSize)
            {
                throw new StorageIntegrityException($"The chunk file of stored file '{row.FileId}' is shorter than its durable length; it was truncated outside Messenger.");
            }

            return writer;
        }
        catch
        {
            writer.Release();
            throw;
        }
    }

    public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        cancellationToken.ThrowIfCancellationRequested();
        var span = data.Span;
        if (inline is not null)
        {
            if (inlineLength + span.Length < SqlCipherFileStore.InlineLimit)
            {
                span.CopyTo(inline.AsSpan(inlineLength));
                inlineLength += span.Length;
                return ValueTask.CompletedTask;
            }

            MoveToChunks();
        }

        Append(span);
        return ValueTask.CompletedTask;
    }

    public async ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        await CommitAsync(complete: false, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask TruncateAsync(long length, CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, Length);
        if (cipher is null)
        {
            inlineLength = (int)length;
            await CommitAsync(complete: false, cancellationToken).ConfigureAwait(false);
            return;
        }

        var boundary = fullChunks * cipher.ChunkSize;
        if (length >= boundary)
        {
            pendingLength = (int)(length - boundary);
        }
        else
        {
            var keepChunks = length / cipher.ChunkSize;
            var remainder = (int)(length % cipher.ChunkSize);
            if (remainder > 0)
            {
                // The cut falls inside a full chunk: its head becomes the new partial chunk.
                ReadSlot(keepChunks);
                cipher.Decrypt(keepChunks, slot, pending.AsSpan(0, cipher.ChunkSize));
            }

            fullChunks = keepChunks;
            pendingLength = remainder;
        }

        await CommitAsync(complete: false, cancellationToken).ConfigureAwait(false);
        // After the commit: a crash before this line only leaves unreferenced slots past the durable length.
        RandomAccess.SetLength(chunkFile!, fullChunks * cipher.SlotSize);
        RandomAccess.FlushToDisk(chunkFile!);
    }

    public async ValueTask<StoredFileInfo> CompleteAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        await CommitAsync(complete: true, cancellationToken).ConfigureAwait(false);
        completed = true;
        return row.Info with { Length = durableLength, IsComplete = true };
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
                await CommitAsync(complete: false, CancellationToken.None).ConfigureAwait(false);
            }
        }
        finally
        {
            Release();
        }
    }

    private void Release()
    {
        disposed = true;
        chunkFile?.Dispose();
        cipher?.Dispose();
        if (fileKey is not null)
        {
            CryptographicOperations.ZeroMemory(fileKey);
        }

        store.ReleaseWriter(row.FileId);
    }

    private void ThrowIfClosed()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (completed)
        {
            throw new StorageException($"Stored file '{row.FileId}' is complete; no more writes are accepted.");
        }
    }

    private void StartChunks(byte[] key, int chunkSize, FileMode mode)
    {
        fileKey = key;
        cipher = new ChunkCipher(row.FileId, key, chunkSize);
        pending = new byte[chunkSize];
        slot = new byte[cipher.SlotSize];
        chunkFile = File.OpenHandle(store.ChunkFilePath(row.FileId), mode, FileAccess.ReadWrite, FileShare.Read);
    }

    /// <summary>The file grew past the inline limit: from here on it is a chunk file under a new random key.</summary>
    private void MoveToChunks()
    {
        StartChunks(RandomNumberGenerator.GetBytes(ChunkCipher.KeySize), SqlCipherFileStore.DefaultChunkSize, FileMode.Create);
        var buffered = inline!;
        var length = inlineLength;
        inline = null;
        inlineLength = 0;
        Append(buffered.AsSpan(0, length));
    }

    private void Append(ReadOnlySpan<byte> data)
    {
        var chunkSize = cipher!.ChunkSize;
        while (!data.IsEmpty)
        {
            if (pendingLength == 0 && data.Length >= chunkSize)
            {
                // Whole chunks are encrypted straight from the caller's buffer, without a copy.
                WriteChunk(data[..chunkSize]);
                data = data[chunkSize..];
                continue;
            }

            var take = Math.Min(chunkSize - pendingLength, data.Length);
            data[..take].CopyTo(pending.AsSpan(pendingLength));
            pendingLength += take;
            data = data[take..];
            if (pendingLength == chunkSize)
            {
                WriteChunk(pending);
                pendingLength = 0;
            }
        }
    }

    private void WriteChunk(ReadOnlySpan<byte> plaintext)
    {
        cipher!.Encrypt(fullChunks, plaintext, slot);
        RandomAccess.Write(chunkFile!, slot, fullChunks * cipher.SlotSize);
        fullChunks++;
    }

    private void ReadSlot(long index)
    {
        var offset = index * cipher!.SlotSize;
        var filled = 0;
        while (filled < slot.Length)
        {
            var read = RandomAccess.Read(chunkFile!, slot.AsSpan(filled), offset + filled);
            if (read == 0)
            {
                throw new StorageIntegrityException($"Stored file '{row.FileId}' is truncated on disk: chunk {index} is missing or incomplete.");
            }

            filled += read;
        }
    }

    private async ValueTask CommitAsync(bool complete, CancellationToken cancellationToken)
    {
        var length = Length;
        if (cipher is null)
        {
            var data = inline.AsSpan(0, inlineLength).ToArray();
            await store.Database.RunAsync(
                c => c.Execute(
                    "UPDATE files SET inline_data = $data, length = $length, is_complete = $complete WHERE file_id = $id",
                    ("$data", data),
                    ("$length", length),
                    ("$complete", complete ? 1 : 0),
                    ("$id", row.FileId)),
                cancellationToken).ConfigureAwait(false);
        }
        else
        {
            // The chunks reach the disk before the database says they exist.
            RandomAccess.FlushToDisk(chunkFile!);
            var tail = pending.AsSpan(0, pendingLength).ToArray();
            var chunks = fullChunks;
            var key = fileKey!;
            await store.Database.RunAsync(
                c => c.Execute(
                    """
                    UPDATE files SET inline_data = NULL, chunk_size = $chunkSize, full_chunks = $chunks, tail = $tail,
                        wrapped_key = $key, length = $length, is_complete = $complete
                    WHERE file_id = $id
                    """,
                    ("$chunkSize", cipher.ChunkSize),
                    ("$chunks", chunks),
                    ("$tail", tail),
                    // Wrapped on the connection, so a concurrent rekey cannot slip between wrap and write.
                    ("$key", ChunkCipher.WrapKey(store.KeyEncryptionKey, row.FileId, key)),
                    ("$length", length),
                    ("$complete", complete ? 1 : 0),
                    ("$id", row.FileId)),
                cancellationToken).ConfigureAwait(false);
        }

        durableLength = length;
    }
}
