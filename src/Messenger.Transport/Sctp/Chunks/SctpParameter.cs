using System.Buffers.Binary;

namespace Messenger.Transport.Sctp.Chunks;

/// <summary>
/// A type-length-value field: an INIT/INIT-ACK/HEARTBEAT/RE-CONFIG parameter (RFC 9260 §3.2.1), or an error cause
/// (RFC 9260 §3.3.10), which share the layout.
/// </summary>
internal sealed class SctpParameter(ushort type, byte[] value)
{
    public ushort Type { get; } = type;

    public byte[] Value { get; } = value;

    public int PaddedLength => Padding.Align4(4 + Value.Length);

    public int WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, Type);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], checked((ushort)(4 + Value.Length)));
        Value.CopyTo(destination[4..]);

        // The chunk length leaves out the last parameter's padding, so the destination may end before it.
        var end = Math.Min(PaddedLength, destination.Length);
        destination[(4 + Value.Length)..end].Clear();
        return end;
    }

    /// <summary>Parses a run of TLVs filling <paramref name="data"/>; the last one may omit its padding.</summary>
    public static List<SctpParameter> ParseList(ReadOnlySpan<byte> data)
    {
        var list = new List<SctpParameter>();
        while (data.Length > 0)
        {
            if (data.Length < 4)
            {
                throw new SctpParseException("Truncated parameter header.");
            }

            var type = BinaryPrimitives.ReadUInt16BigEndian(data);
            int length = BinaryPrimitives.ReadUInt16BigEndian(data[2..]);
            if (length < 4 || length > data.Length)
            {
                throw new SctpParseException($"Parameter 0x{type:X4} has length {length}, {data.Length} bytes left.");
            }

            list.Add(new SctpParameter(type, data[4..length].ToArray()));
            data = data[Math.Min(Padding.Align4(length), data.Length)..];
        }

        return list;
    }

    /// <summary>RFC 9260 §3.2: a chunk's length counts every parameter's padding except the last one's.</summary>
    public static int ListLength(IReadOnlyList<SctpParameter> list)
    {
        var total = 0;
        foreach (var p in list)
        {
            total += p.PaddedLength;
        }

        return list.Count == 0 ? 0 : total - list[^1].PaddedLength + 4 + list[^1].Value.Length;
    }

    public static int WriteList(IReadOnlyList<SctpParameter> list, Span<byte> destination)
    {
        var offset = 0;
        foreach (var p in list)
        {
            offset += p.WriteTo(destination[offset..]);
        }

        return offset;
    }
}
