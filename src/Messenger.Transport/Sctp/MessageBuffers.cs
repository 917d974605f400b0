using System.Buffers;

namespace Messenger.Transport.Sctp;

/// <summary>
/// The arrays user messages travel in, both ways. Not <see cref="ArrayPool{T}.Shared"/>: its per-core caches hold a
/// handful of arrays per size, while a window of messages in flight is thousands of them, rented on one thread and
/// returned on another; this pool keeps that many, so a long transfer reuses every array instead of allocating.
/// </summary>
public static class MessagePool
{
    /// <summary>Up to 1 MiB arrays (a message of the largest max-message-size and then some), 1024 of each size.</summary>
    public static ArrayPool<byte> Shared { get; } = ArrayPool<byte>.Create(maxArrayLength: 1 << 20, maxArraysPerBucket: 1024);
}

/// <summary>
/// A user message handed to <see cref="SctpAssociation.Send"/>: its bytes in an array the association holds until the
/// peer has acknowledged every chunk (it may have to retransmit them), and the pool the array goes back to then.
/// </summary>
public readonly struct OutboundPayload
{
    private readonly ArrayPool<byte>? _pool;

    private OutboundPayload(byte[] array, int length, ArrayPool<byte>? pool)
    {
        Array = array;
        Length = length;
        _pool = pool;
    }

    public byte[] Array { get; }

    public int Length { get; }

    /// <summary>True when the array goes back to a pool once the association is done with it.</summary>
    public bool Pooled => _pool is not null;

    public ReadOnlySpan<byte> Span => Array.AsSpan(0, Length);

    /// <summary>A message in an array of its own that nobody else touches afterwards.</summary>
    public static OutboundPayload Of(byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        return new(data, data.Length, null);
    }

    /// <summary>A copy of <paramref name="data"/> in a <see cref="MessagePool"/> array: the steady state allocates nothing.</summary>
    public static OutboundPayload Copy(ReadOnlySpan<byte> data)
    {
        var array = MessagePool.Shared.Rent(Math.Max(1, data.Length));
        data.CopyTo(array);
        return new(array, data.Length, MessagePool.Shared);
    }

    /// <summary>An array the caller filled, rented from <paramref name="pool"/>; the association returns it there.</summary>
    public static OutboundPayload Rented(byte[] array, int length, ArrayPool<byte> pool) => new(array, length, pool);

    internal void Release() => _pool?.Return(Array);
}

/// <summary>
/// A received user message, reassembled into a pooled array. Whoever takes it from the association's event calls
/// <see cref="Release"/> once done with it (or hands it on to someone who will).
/// </summary>
public readonly struct InboundMessage
{
    internal InboundMessage(byte[] array, int length)
    {
        Array = array;
        Length = length;
    }

    public byte[] Array { get; }

    public int Length { get; }

    public ReadOnlySpan<byte> Span => Array.AsSpan(0, Length);

    public ReadOnlyMemory<byte> Memory => Array.AsMemory(0, Length);

    internal static InboundMessage Copy(ReadOnlySpan<byte> data)
    {
        var array = MessagePool.Shared.Rent(Math.Max(1, data.Length));
        data.CopyTo(array);
        return new(array, data.Length);
    }

    /// <summary>A copy in an array of its own (tests and callers that keep the bytes).</summary>
    public byte[] ToArray() => Span.ToArray();

    /// <summary>Returns the array to the pool; the message must not be read afterwards.</summary>
    public void Release() => MessagePool.Shared.Return(Array);
}
