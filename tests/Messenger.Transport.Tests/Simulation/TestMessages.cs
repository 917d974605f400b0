using System.Buffers.Binary;

namespace Messenger.Transport.Tests.Simulation;

/// <summary>Self-describing message bodies: stream, index and length up front, a pattern derived from them after.</summary>
public static class TestMessages
{
    public const int MinimumLength = 8;

    public static byte[] Create(ushort stream, int index, int length)
    {
        var data = new byte[Math.Max(length, MinimumLength)];
        BinaryPrimitives.WriteUInt16BigEndian(data, stream);
        BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(2), index);
        for (var i = 8; i < data.Length; i++)
        {
            data[i] = Pattern(stream, index, i);
        }

        return data;
    }

    /// <summary>Returns the index a message claims, or throws if any byte is not what <see cref="Create"/> wrote.</summary>
    public static int Verify(ushort expectedStream, byte[] data)
    {
        if (data.Length < MinimumLength)
        {
            throw new InvalidDataException($"message of {data.Length} bytes is too short");
        }

        var stream = BinaryPrimitives.ReadUInt16BigEndian(data);
        var index = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(2));
        if (stream != expectedStream)
        {
            throw new InvalidDataException($"message {index} of stream {stream} arrived on stream {expectedStream}");
        }

        for (var i = 8; i < data.Length; i++)
        {
            if (data[i] != Pattern(stream, index, i))
            {
                throw new InvalidDataException($"message {index} on stream {stream} is corrupt at byte {i}");
            }
        }

        return index;
    }

    private static byte Pattern(ushort stream, int index, int position) =>
        (byte)((position * 31) ^ (index * 7) ^ (stream * 13) ^ (position >> 8));
}
