namespace Messenger.Transport.Sctp.Chunks;

/// <summary>The chunks with no value: COOKIE-ACK (§3.3.12), SHUTDOWN-ACK (§3.3.9), SHUTDOWN-COMPLETE (§3.3.13, T bit).</summary>
internal sealed class EmptyChunk(ChunkType type, byte flags = 0) : Chunk
{
    public override ChunkType Type { get; } = type;

    public override byte Flags { get; } = flags;

    public override int ValueLength => 0;

    protected override void WriteValue(Span<byte> destination)
    {
    }

    public static EmptyChunk Parse(ChunkType type, byte flags, ReadOnlySpan<byte> value)
    {
        // RFC 9260 §3.3.12: these chunks have a length of exactly four.
        if (!value.IsEmpty)
        {
            throw new SctpParseException($"{type} must be empty but has {value.Length} bytes.");
        }

        return new EmptyChunk(type, flags);
    }
}
