using System.Buffers.Binary;

namespace Messenger.Transport.Sctp.Chunks;

/// <summary>DATA (RFC 9260 §3.3.1): one fragment of a user message.</summary>
internal sealed class DataChunk : Chunk
{
    public const byte EndFlag = 0x01;
    public const byte BeginFlag = 0x02;
    public const byte UnorderedFlag = 0x04;
    public const byte ImmediateFlag = 0x08;
    public const int HeaderLength = 16;

    public byte DataFlags { get; init; }

    public uint Tsn { get; init; }

    public ushort StreamId { get; init; }

    public ushort StreamSequenceNumber { get; init; }

    public uint PayloadProtocolId { get; init; }

    public ReadOnlyMemory<byte> Payload { get; init; }

    public override ChunkType Type => ChunkType.Data;

    public override byte Flags => DataFlags;

    public override int ValueLength => 12 + Payload.Length;

    protected override void WriteValue(Span<byte> destination)
    {
        WriteHeaderFields(destination, Tsn, StreamId, StreamSequenceNumber, PayloadProtocolId);
        Payload.Span.CopyTo(destination[12..]);
    }

    /// <summary>Writes the 12 bytes after the chunk header; shared with the allocation-free send path.</summary>
    public static void WriteHeaderFields(Span<byte> destination, uint tsn, ushort streamId, ushort ssn, uint ppid)
    {
        BinaryPrimitives.WriteUInt32BigEndian(destination, tsn);
        BinaryPrimitives.WriteUInt16BigEndian(destination[4..], streamId);
        BinaryPrimitives.WriteUInt16BigEndian(destination[6..], ssn);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], ppid);
    }

    public static DataChunk Parse(byte flags, ReadOnlySpan<byte> value)
    {
        if (value.Length < 12)
        {
            throw new SctpParseException($"DATA is {value.Length} bytes, needs 12.");
        }

        return new DataChunk
        {
            DataFlags = flags,
            Tsn = BinaryPrimitives.ReadUInt32BigEndian(value),
            StreamId = BinaryPrimitives.ReadUInt16BigEndian(value[4..]),
            StreamSequenceNumber = BinaryPrimitives.ReadUInt16BigEndian(value[6..]),
            PayloadProtocolId = BinaryPrimitives.ReadUInt32BigEndian(value[8..]),
            Payload = value[12..].ToArray(),
        };
    }
}
