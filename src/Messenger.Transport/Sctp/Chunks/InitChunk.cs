using System.Buffers.Binary;

namespace Messenger.Transport.Sctp.Chunks;

/// <summary>INIT (RFC 9260 §3.3.2) or INIT-ACK (§3.3.3): they share the fixed fields and carry parameters.</summary>
internal sealed class InitChunk : Chunk
{
    public const ushort StateCookieParameter = 7;
    public const ushort UnrecognizedParameter = 8;
    public const ushort SupportedExtensionsParameter = 0x8008;
    public const ushort ForwardTsnSupportedParameter = 0xC000;

    public bool IsAck { get; init; }

    public uint InitiateTag { get; init; }

    public uint AdvertisedReceiverWindow { get; init; }

    public ushort OutboundStreams { get; init; }

    public ushort InboundStreams { get; init; }

    public uint InitialTsn { get; init; }

    public List<SctpParameter> Parameters { get; init; } = [];

    public override ChunkType Type => IsAck ? ChunkType.InitAck : ChunkType.Init;

    public override int ValueLength => 16 + SctpParameter.ListLength(Parameters);

    public byte[]? StateCookie => Find(StateCookieParameter)?.Value;

    /// <summary>True when the peer lists <paramref name="chunkType"/> in Supported Extensions (RFC 5061 §4.2.7).</summary>
    public bool SupportsExtension(ChunkType chunkType) =>
        Find(SupportedExtensionsParameter)?.Value.Contains((byte)chunkType) == true;

    /// <summary>RFC 3758 §3.1: FORWARD-TSN is supported if advertised either way.</summary>
    public bool SupportsForwardTsn =>
        Find(ForwardTsnSupportedParameter) is not null || SupportsExtension(ChunkType.ForwardTsn);

    public SctpParameter? Find(ushort type) => Parameters.Find(p => p.Type == type);

    protected override void WriteValue(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32BigEndian(destination, InitiateTag);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], AdvertisedReceiverWindow);
        BinaryPrimitives.WriteUInt16BigEndian(destination[8..], OutboundStreams);
        BinaryPrimitives.WriteUInt16BigEndian(destination[10..], InboundStreams);
        BinaryPrimitives.WriteUInt32BigEndian(destination[12..], InitialTsn);
        SctpParameter.WriteList(Parameters, destination[16..]);
    }

    public static InitChunk Parse(bool isAck, ReadOnlySpan<byte> value)
    {
        if (value.Length < 16)
        {
            throw new SctpParseException($"{(isAck ? "INIT-ACK" : "INIT")} is {value.Length} bytes, needs 16.");
        }

        return new InitChunk
        {
            IsAck = isAck,
            InitiateTag = BinaryPrimitives.ReadUInt32BigEndian(value),
            AdvertisedReceiverWindow = BinaryPrimitives.ReadUInt32BigEndian(value[4..]),
            OutboundStreams = BinaryPrimitives.ReadUInt16BigEndian(value[8..]),
            InboundStreams = BinaryPrimitives.ReadUInt16BigEndian(value[10..]),
            InitialTsn = BinaryPrimitives.ReadUInt32BigEndian(value[12..]),
            Parameters = SctpParameter.ParseList(value[16..]),
        };
    }
}
