namespace Messenger.Transport.Sctp.Chunks;

/// <summary>ABORT (RFC 9260 §3.3.7) or ERROR (§3.3.10): a list of error causes; ABORT may set the T bit.</summary>
internal sealed class CauseListChunk(ChunkType type, byte flags, List<SctpParameter> causes) : Chunk
{
    public const byte TagReflectedFlag = 0x01;
    public const ushort InvalidStreamIdentifier = 1;
    public const ushort MissingMandatoryParameter = 2;
    public const ushort StaleCookie = 3;
    public const ushort UnrecognizedChunkType = 6;
    public const ushort UnrecognizedParameters = 8;
    public const ushort NoUserData = 9;
    public const ushort CookieReceivedWhileShuttingDown = 10;
    public const ushort ProtocolViolation = 13;
    public const ushort UserInitiatedAbort = 12;

    public override ChunkType Type { get; } = type;

    public override byte Flags { get; } = flags;

    public List<SctpParameter> Causes { get; } = causes;

    public bool TagReflected => (Flags & TagReflectedFlag) != 0;

    public override int ValueLength => SctpParameter.ListLength(Causes);

    protected override void WriteValue(Span<byte> destination) => SctpParameter.WriteList(Causes, destination);

    public static CauseListChunk Parse(ChunkType type, byte flags, ReadOnlySpan<byte> value) =>
        new(type, flags, SctpParameter.ParseList(value));

    public static CauseListChunk Abort(ushort cause, string reason, bool tagReflected = false) =>
        new(ChunkType.Abort, tagReflected ? TagReflectedFlag : (byte)0, [new SctpParameter(cause, System.Text.Encoding.UTF8.GetBytes(reason))]);
}
