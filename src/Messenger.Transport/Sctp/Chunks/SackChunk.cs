using System.Buffers.Binary;

namespace Messenger.Transport.Sctp.Chunks;

/// <summary>SACK (RFC 9260 §3.3.4): cumulative ack, receiver window, gap ack blocks and duplicate TSNs.</summary>
internal sealed class SackChunk : Chunk
{
    public uint CumulativeTsnAck { get; init; }

    public uint AdvertisedReceiverWindow { get; init; }

    /// <summary>Gap ack blocks as offsets from the cumulative TSN ack, inclusive.</summary>
    public List<(ushort Start, ushort End)> GapBlocks { get; init; } = [];

    public List<uint> DuplicateTsns { get; init; } = [];

    public override ChunkType Type => ChunkType.Sack;

    public override int ValueLength => 12 + (4 * GapBlocks.Count) + (4 * DuplicateTsns.Count);

    protected override void WriteValue(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32BigEndian(destination, CumulativeTsnAck);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], AdvertisedReceiverWindow);
        BinaryPrimitives.WriteUInt16BigEndian(destination[8..], checked((ushort)GapBlocks.Count));
        BinaryPrimitives.WriteUInt16BigEndian(destination[10..], checked((ushort)DuplicateTsns.Count));
        var offset = 12;
        foreach (var (start, end) in GapBlocks)
        {
            BinaryPrimitives.WriteUInt16BigEndian(destination[offset..], start);
            BinaryPrimitives.WriteUInt16BigEndian(destination[(offset + 2)..], end);
            offset += 4;
        }

        foreach (var tsn in DuplicateTsns)
        {
            BinaryPrimitives.WriteUInt32BigEndian(destination[offset..], tsn);
            offset += 4;
        }
    }

    public static SackChunk Parse(ReadOnlySpan<byte> value)
    {
        if (value.Length < 12)
        {
            throw new SctpParseException($"SACK is {value.Length} bytes, needs 12.");
        }

        int gaps = BinaryPrimitives.ReadUInt16BigEndian(value[8..]);
        int dups = BinaryPrimitives.ReadUInt16BigEndian(value[10..]);
        if (value.Length != 12 + (4 * gaps) + (4 * dups))
        {
            throw new SctpParseException($"SACK claims {gaps} gap blocks and {dups} duplicates but is {value.Length} bytes.");
        }

        var sack = new SackChunk
        {
            CumulativeTsnAck = BinaryPrimitives.ReadUInt32BigEndian(value),
            AdvertisedReceiverWindow = BinaryPrimitives.ReadUInt32BigEndian(value[4..]),
            GapBlocks = new List<(ushort, ushort)>(gaps),
            DuplicateTsns = new List<uint>(dups),
        };
        var offset = 12;
        for (var i = 0; i < gaps; i++, offset += 4)
        {
            sack.GapBlocks.Add((BinaryPrimitives.ReadUInt16BigEndian(value[offset..]), BinaryPrimitives.ReadUInt16BigEndian(value[(offset + 2)..])));
        }

        for (var i = 0; i < dups; i++, offset += 4)
        {
            sack.DuplicateTsns.Add(BinaryPrimitives.ReadUInt32BigEndian(value[offset..]));
        }

        return sack;
    }
}
