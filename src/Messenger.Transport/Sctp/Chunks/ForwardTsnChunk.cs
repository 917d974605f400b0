using System.Buffers.Binary;

namespace Messenger.Transport.Sctp.Chunks;

/// <summary>FORWARD-TSN (RFC 3758 §3.2): moves the receiver's cumulative TSN past abandoned data.</summary>
internal sealed class ForwardTsnChunk : Chunk
{
    public uint NewCumulativeTsn { get; init; }

    /// <summary>For ordered streams, the largest SSN abandoned on each stream.</summary>
    public List<(ushort StreamId, ushort Ssn)> Streams { get; init; } = [];

    public override ChunkType Type => ChunkType.ForwardTsn;

    public override int ValueLength => 4 + (4 * Streams.Count);

    protected override void WriteValue(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32BigEndian(destination, NewCumulativeTsn);
        var offset = 4;
        foreach (var (sid, ssn) in Streams)
        {
            BinaryPrimitives.WriteUInt16BigEndian(destination[offset..], sid);
            BinaryPrimitives.WriteUInt16BigEndian(destination[(offset + 2)..], ssn);
            offset += 4;
        }
    }

    public static ForwardTsnChunk Parse(ReadOnlySpan<byte> value)
    {
        if (value.Length < 4 || value.Length % 4 != 0)
        {
            throw new SctpParseException($"FORWARD-TSN is {value.Length} bytes, needs 4 plus 4 per stream.");
        }

        var chunk = new ForwardTsnChunk { NewCumulativeTsn = BinaryPrimitives.ReadUInt32BigEndian(value) };
        for (var offset = 4; offset < value.Length; offset += 4)
        {
            chunk.Streams.Add((BinaryPrimitives.ReadUInt16BigEndian(value[offset..]), BinaryPrimitives.ReadUInt16BigEndian(value[(offset + 2)..])));
        }

        return chunk;
    }
}
