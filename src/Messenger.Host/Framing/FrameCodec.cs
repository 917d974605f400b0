using System.Buffers;
using System.Buffers.Binary;
using MessagePack;
using Messenger.Contracts.Framing;

namespace Messenger.Host.Framing;

/// <summary>
/// The wire format of a frame: one data-channel message holding the MessagePack array <c>[kind, body]</c>, where
/// kind is a non-negative integer and body is exactly one MessagePack object owned by the kind's handler.
/// </summary>
public static class FrameCodec
{
    /// <summary>The most bytes a frame header (<c>[kind,</c>) takes: the array marker and a uint32.</summary>
    public const int MaxHeaderSize = 1 + 5;

    /// <summary>The number of bytes <see cref="WriteHeader"/> writes for <paramref name="kind"/>.</summary>
    /// <param name="kind">The frame kind.</param>
    /// <returns>The header size.</returns>
    public static int HeaderSize(FrameKind kind)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(kind.Value);
        return 1 + kind.Value switch
        {
            <= 0x7f => 1,
            <= 0xff => 2,
            <= 0xffff => 3,
            _ => 5,
        };
    }

    /// <summary>Writes <c>[kind,</c>: the fixarray(2) marker and the kind in MessagePack's shortest integer form.</summary>
    /// <param name="kind">The frame kind.</param>
    /// <param name="destination">At least <see cref="HeaderSize"/> bytes.</param>
    /// <returns>The bytes written.</returns>
    public static int WriteHeader(FrameKind kind, Span<byte> destination)
    {
        var size = HeaderSize(kind);
        destination[0] = 0x92;
        var value = (uint)kind.Value;
        switch (size)
        {
            case 2:
                destination[1] = (byte)value;
                break;
            case 3:
                destination[1] = MessagePackCode.UInt8;
                destination[2] = (byte)value;
                break;
            case 4:
                destination[1] = MessagePackCode.UInt16;
                BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)value);
                break;
            default:
                destination[1] = MessagePackCode.UInt32;
                BinaryPrimitives.WriteUInt32BigEndian(destination[2..], value);
                break;
        }

        return size;
    }

    /// <summary>Encodes a frame into a new array. Checks that the body is one MessagePack object.</summary>
    /// <param name="kind">The frame kind.</param>
    /// <param name="body">The body.</param>
    /// <returns>The frame bytes.</returns>
    /// <exception cref="ArgumentException">The body is not exactly one MessagePack object.</exception>
    public static byte[] Encode(FrameKind kind, ReadOnlySpan<byte> body)
    {
        var frame = new byte[HeaderSize(kind) + body.Length];
        var written = WriteHeader(kind, frame);
        body.CopyTo(frame.AsSpan(written));
        return frame;
    }

    /// <summary>
    /// Parses a received message as a frame. Never throws: a malformed message gives false and the reason.
    /// </summary>
    /// <param name="message">The data-channel message.</param>
    /// <param name="maxFrameSize">The largest frame accepted, in bytes.</param>
    /// <param name="kind">The frame kind.</param>
    /// <param name="body">The body, a slice of <paramref name="message"/>.</param>
    /// <param name="error">Why the message is not a frame.</param>
    /// <returns>True when the message is a well-formed frame.</returns>
    public static bool TryDecode(ReadOnlyMemory<byte> message, int maxFrameSize, out FrameKind kind, out ReadOnlyMemory<byte> body, out string? error)
    {
        kind = default;
        body = default;
        if (message.Length > maxFrameSize)
        {
            error = $"the frame is {message.Length} bytes, over the {maxFrameSize}-byte limit";
            return false;
        }

        if (message.IsEmpty)
        {
            error = "the frame is empty";
            return false;
        }

        try
        {
            var reader = new MessagePackReader(message);
            if (reader.NextMessagePackType != MessagePackType.Array)
            {
                error = "a frame must be a MessagePack array [kind, body]";
                return false;
            }

            var length = reader.ReadArrayHeader();
            if (length != 2)
            {
                error = $"a frame must be a 2-element array [kind, body], not {length} elements";
                return false;
            }

            if (reader.NextMessagePackType != MessagePackType.Integer)
            {
                error = "the frame kind must be an integer";
                return false;
            }

            long value;
            try
            {
                value = reader.ReadInt64();
            }
            catch (OverflowException)
            {
                value = -1;
            }

            if (value is < 0 or > int.MaxValue)
            {
                error = $"the frame kind is out of range (0 to {int.MaxValue})";
                return false;
            }

            var bodyStart = (int)reader.Consumed;
            var bodyMemory = message[bodyStart..];
            if (!MessagePackShape.IsSingleObject(bodyMemory, out error))
            {
                error = "malformed body: " + error;
                return false;
            }

            kind = new FrameKind((int)value);
            body = bodyMemory;
            return true;
        }
        catch (MessagePackSerializationException ex)
        {
            error = "malformed frame header: " + ex.Message;
            return false;
        }
        catch (Exception ex) when (ex is EndOfStreamException or ArgumentOutOfRangeException)
        {
            error = "the frame is truncated";
            return false;
        }
    }

    /// <summary>Rents a buffer and encodes a frame into it; the caller returns the buffer to <see cref="ArrayPool{T}.Shared"/>.</summary>
    internal static (byte[] Buffer, int Length) EncodePooled(FrameKind kind, ReadOnlySpan<byte> body)
    {
        var length = HeaderSize(kind) + body.Length;
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        var written = WriteHeader(kind, buffer);
        body.CopyTo(buffer.AsSpan(written));
        return (buffer, length);
    }
}
