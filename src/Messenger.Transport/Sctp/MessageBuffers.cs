using System.Buffers;

namespace Messenger.Transport.Sctp;

/// <summary>
/// A user message handed to <see cref="SctpAssociation.Send"/>: its bytes in an array the association holds until the
/// peer has acknowledged every chunk (it may have to retransmit them), and whether the array goes back to the shared
/// pool then.
/// </summary>
public readonly struct OutboundPayload
{
    private OutboundPayload(byte[] array, int length, bool pooled)
    {
        Array = array;
        Length = length;
        Pooled = pooled;
    }

    public byte[] Array { get; }

    public int Length { get; }

    /// <summary>True when the array was rented from <see cref="ArrayPool{T}.Shared"/> and returns there.</summary>
    public bool Pooled { get; }

    public ReadOnlySpan<byte> Span => Array.AsSpan(0, Length);

    /// <summary>A message in an array of its own that nobody else touches afterwards.</summary>
    public static OutboundPayload Of(byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        return new(data, data.Length, pooled: false);
    }

    /// <summary>A copy of <paramref name="data"/> in a pooled array: the steady state allocates nothing.</summary>
    public static OutboundPayload Copy(ReadOnlySpan<byte> data)
    {
        var array = ArrayPool<byte>.Shared.Rent(Math.Max(1, data.Length));
        data.CopyTo(array);
        return new(array, data.Length, pooled: true);
    }

    /// <summary>A pooled array the caller already filled; the association returns it to the pool.</summary>
    public static OutboundPayload Rented(byte[] array, int length) => new(array, length, pooled: true);

    internal void Release()
    {
        if (Pooled)
        {
            ArrayPool<byte>.Shared.Return(Array);
        }
    }
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
        var array = ArrayPool<byte>.Shared.Rent(Math.Max(1, data.Length));
        data.CopyTo(array);
        return new(array, data.Length);
    }

    /// <summary>A copy in an array of its own (tests and callers that keep the bytes).</summary>
    public byte[] ToArray() => Span.ToArray();

    /// <summary>Returns the array to the pool; the message must not be read afterwards.</summary>
    public void Release() => ArrayPool<byte>.Shared.Return(Array);
}
