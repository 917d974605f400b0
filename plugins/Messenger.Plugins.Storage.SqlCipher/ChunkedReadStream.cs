using Messenger.Contracts.Storage;
using Microsoft.Win32.SafeHandles;

namespace Messenger.Plugins.Storage.SqlCipher;

/// <summary>
/// A read-only, seekable view of a chunk file's plaintext as of when it was opened: full chunks are read and
/// authenticated one at a time from disk; the partial last chunk came from the database.
/// </summary>
internal sealed class ChunkedReadStream : Stream
{
    private readonly string fileId;
    private readonly SafeFileHandle file;
    private readonly ChunkCipher cipher;
    private readonly long fullChunks;
    private readonly byte[] tail;
    private readonly long length;
    private readonly byte[] slot;
    private readonly byte[] plaintext;
    private long cachedChunk = -1;
    private long position;

    private ChunkedReadStream(string fileId, SafeFileHandle file, ChunkCipher cipher, long fullChunks, byte[] tail, long length)
    {
        this.fileId = fileId;
        this.file = file;
        this.cipher = cipher;
        this.fullChunks = fullChunks;
        this.tail = tail;
        this.length = length;
        slot = new byte[cipher.SlotSize];
        plaintext = new byte[cipher.ChunkSize];
    }

    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => length;

    public override long Position
    {
        get => position;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            position = value;
        }
    }

    public static ChunkedReadStream Open(string fileId, string path, byte[] fileKey, int chunkSize, long fullChunks, byte[] tail, long length)
    {
        if (length != (fullChunks * chunkSize) + tail.Length)
        {
            throw new StorageIntegrityException($"The stored length of file '{fileId}' does not match its chunks; the store was tampered with.");
        }

        SafeFileHandle file;
        try
        {
            // Delete is shared so a file can be deleted while a reader still holds it, as on any POSIX file.
            file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (FileNotFoundException) when (fullChunks == 0)
        {
            // Every byte is in the database tail, so the chunk file is not needed.
            return new ChunkedReadStream(fileId, new SafeFileHandle(), new ChunkCipher(fileId, fileKey, chunkSize), 0, tail, length);
        }
        catch (FileNotFoundException exception)
        {
            throw new StorageIntegrityException($"The chunk file of stored file '{fileId}' is missing; it was removed outside Messenger.", exception);
        }

        return new ChunkedReadStream(fileId, file, new ChunkCipher(fileId, fileKey, chunkSize), fullChunks, tail, length);
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (position >= length || buffer.IsEmpty)
        {
            return 0;
        }

        var chunkSize = cipher.ChunkSize;
        var index = position / chunkSize;
        var offset = (int)(position % chunkSize);
        ReadOnlySpan<byte> source;
        if (index < fullChunks)
        {
            LoadChunk(index);
            source = plaintext.AsSpan(offset);
        }
        else
        {
            source = tail.AsSpan(offset);
        }

        var count = (int)Math.Min(Math.Min(buffer.Length, source.Length), length - position);
        source[..count].CopyTo(buffer);
        position += count;
        return count;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(Read(buffer.Span));
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override long Seek(long offset, SeekOrigin origin)
    {
        Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => position + offset,
            SeekOrigin.End => length + offset,
            _ => throw new ArgumentOutOfRangeException(nameof(origin)),
        };
        return position;
    }

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException("A stored file is read-only through this stream.");

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("A stored file is read-only through this stream.");

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            file.Dispose();
            cipher.Dispose();
        }

        base.Dispose(disposing);
    }

    private void LoadChunk(long index)
    {
        if (cachedChunk == index)
        {
            return;
        }

        cachedChunk = -1;
        var offset = index * cipher.SlotSize;
        var filled = 0;
        while (filled < slot.Length)
        {
            var read = RandomAccess.Read(file, slot.AsSpan(filled), offset + filled);
            if (read == 0)
            {
                throw new StorageIntegrityException($"Stored file '{fileId}' is truncated on disk: chunk {index} is missing or incomplete.");
            }

            filled += read;
        }

        cipher.Decrypt(index, slot, plaintext);
        cachedChunk = index;
    }
}
