using System.Buffers.Binary;
using Messenger.Transport.Sctp.Chunks;

namespace Messenger.Transport.Sctp;

/// <summary>An SCTP packet (RFC 9260 §3): the common header and its chunks, as an object model.</summary>
internal sealed class SctpPacket
{
    public const int CommonHeaderLength = 12;

    public ushort SourcePort { get; init; }

    public ushort DestinationPort { get; init; }

    public uint VerificationTag { get; init; }

    public List<Chunk> Chunks { get; init; } = [];

    public int SerializedLength
    {
        get
        {
            var length = CommonHeaderLength;
            foreach (var c in Chunks)
            {
                length += c.PaddedLength;
            }

            return length;
        }
    }

    public byte[] Serialize()
    {
        var buffer = new byte[SerializedLength];
        WriteTo(buffer);
        return buffer;
    }

    public int WriteTo(Span<byte> destination)
    {
        WriteCommonHeader(destination, SourcePort, DestinationPort, VerificationTag);
        var offset = CommonHeaderLength;
        foreach (var c in Chunks)
        {
            offset += c.WriteTo(destination[offset..]);
        }

        Crc32C.StampPacket(destination[..offset]);
        return offset;
    }

    public static void WriteCommonHeader(Span<byte> destination, ushort sourcePort, ushort destinationPort, uint verificationTag)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], destinationPort);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], verificationTag);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], 0);
    }

    /// <summary>Checks the header and checksum; throws <see cref="SctpParseException"/> on any fault.</summary>
    public static void Validate(ReadOnlySpan<byte> packet)
    {
        if (packet.Length < CommonHeaderLength + 4)
        {
            throw new SctpParseException($"A packet of {packet.Length} bytes is shorter than a header and one chunk.");
        }

        var stored = BinaryPrimitives.ReadUInt32LittleEndian(packet[8..]);
        var computed = Crc32C.ComputePacketChecksum(packet);
        if (stored != computed)
        {
            throw new SctpParseException($"Checksum 0x{stored:X8} does not match the computed 0x{computed:X8}.");
        }
    }

    /// <summary>Parses and checksum-checks a whole packet into objects; throws only <see cref="SctpParseException"/>.</summary>
    public static SctpPacket Parse(ReadOnlySpan<byte> packet)
    {
        Validate(packet);
        var result = new SctpPacket
        {
            SourcePort = BinaryPrimitives.ReadUInt16BigEndian(packet),
            DestinationPort = BinaryPrimitives.ReadUInt16BigEndian(packet[2..]),
            VerificationTag = BinaryPrimitives.ReadUInt32BigEndian(packet[4..]),
        };
        var reader = new ChunkReader(packet[CommonHeaderLength..]);
        while (reader.TryRead(out var type, out var flags, out var value))
        {
            result.Chunks.Add(Chunk.Parse(type, flags, value));
        }

        return result;
    }
}

/// <summary>Walks the chunks of a packet body without allocating; throws <see cref="SctpParseException"/> on bad lengths.</summary>
internal ref struct ChunkReader(ReadOnlySpan<byte> body)
{
    private ReadOnlySpan<byte> _rest = body;

    public bool TryRead(out byte type, out byte flags, out ReadOnlySpan<byte> value)
    {
        if (_rest.IsEmpty)
        {
            type = flags = 0;
            value = default;
            return false;
        }

        if (_rest.Length < 4)
        {
            throw new SctpParseException($"{_rest.Length} trailing bytes are too short for a chunk header.");
        }

        type = _rest[0];
        flags = _rest[1];
        int length = BinaryPrimitives.ReadUInt16BigEndian(_rest[2..]);
        if (length < 4 || length > _rest.Length)
        {
            throw new SctpParseException($"Chunk type {type} has length {length}, {_rest.Length} bytes left.");
        }

        value = _rest[4..length];

        // RFC 9260 §3.2: a chunk is padded to four bytes; tolerate a last chunk sent without its padding.
        _rest = _rest[Math.Min(Padding.Align4(length), _rest.Length)..];
        return true;
    }
}
