using Messenger.Contracts.Storage;

namespace Messenger.Plugins.Storage.Folder;

/// <summary>A read-only, seekable view of the first <c>length</c> bytes of a file: the part the index says is stored.</summary>
internal sealed class BoundedReadStream(FileStream file, long length, string fileId) : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => length;

    public override long Position
    {
        get => file.Position;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            file.Position = value;
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var remaining = length - file.Position;
        if (remaining <= 0 || buffer.IsEmpty)
        {
            return 0;
        }

        var read = file.Read(buffer[..(int)Math.Min(buffer.Length, remaining)]);
        if (read == 0)
        {
            throw new StorageIntegrityException($"Stored file '{fileId}' is shorter on disk than its recorded length; it was changed outside Messenger.");
        }

        return read;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var remaining = length - file.Position;
        if (remaining <= 0 || buffer.IsEmpty)
        {
            return 0;
        }

        var read = await file.ReadAsync(buffer[..(int)Math.Min(buffer.Length, remaining)], cancellationToken).ConfigureAwait(false);
        if (read == 0)
        {
            throw new StorageIntegrityException($"Stored file '{fileId}' is shorter on disk than its recorded length; it was changed outside Messenger.");
        }

        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override long Seek(long offset, SeekOrigin origin)
    {
        Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => file.Position + offset,
            SeekOrigin.End => length + offset,
            _ => throw new ArgumentOutOfRangeException(nameof(origin)),
        };
        return Position;
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
        }

        base.Dispose(disposing);
    }
}
