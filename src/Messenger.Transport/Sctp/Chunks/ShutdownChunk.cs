using System.Buffers.Binary;

namespace Messenger.Transport.Sctp.Chunks;

/// <summary>SHUTDOWN (RFC 9260 §3.3.8): carries the sender's cumulative TSN ack.</summary>
internal sealed class ShutdownChunk(uint cumulativeTsnAck) : Chunk
{
    public uint CumulativeTsnAck { get; } = cumulativeTsnAck;

    public override ChunkType Type => ChunkType.Shutdown;

    public override int ValueLength => 4;

    protected override void WriteValue(Span<byte> destination) =>
        BinaryPrimitives.WriteUInt32BigEndian(destination, CumulativeTsnAck);

    public static ShutdownChunk Parse(ReadOnlySpan<byte> value) => value.Length == 4
        ? new ShutdownChunk(BinaryPrimitives.ReadUInt32BigEndian(value))
        : throw new SctpParseException($"SHUTDOWN is {value.Length} bytes, needs 4.");
}
