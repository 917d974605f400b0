namespace Messenger.Transport.Sctp.Chunks;

/// <summary>A chunk type this stack does not implement; kept raw so it can be reported or skipped (RFC 9260 §3.2).</summary>
internal sealed class UnknownChunk(byte typeCode, byte flags, byte[] value) : Chunk
{
    public byte TypeCode { get; } = typeCode;

    public byte[] Value { get; } = value;

    public override ChunkType Type => (ChunkType)TypeCode;

    public override byte Flags { get; } = flags;

    public override int ValueLength => Value.Length;

    protected override void WriteValue(Span<byte> destination) => Value.CopyTo(destination);
}
