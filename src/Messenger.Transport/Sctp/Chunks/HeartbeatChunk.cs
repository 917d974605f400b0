namespace Messenger.Transport.Sctp.Chunks;

/// <summary>HEARTBEAT (RFC 9260 §3.3.5) or HEARTBEAT-ACK (§3.3.6): an opaque Heartbeat Info parameter echoed back.</summary>
internal sealed class HeartbeatChunk : Chunk
{
    public const ushort InfoParameter = 1;

    public bool IsAck { get; init; }

    public List<SctpParameter> Parameters { get; init; } = [];

    public override ChunkType Type => IsAck ? ChunkType.HeartbeatAck : ChunkType.Heartbeat;

    public override int ValueLength => SctpParameter.ListLength(Parameters);

    public byte[]? Info => Parameters.Find(p => p.Type == InfoParameter)?.Value;

    protected override void WriteValue(Span<byte> destination) => SctpParameter.WriteList(Parameters, destination);

    public static HeartbeatChunk Parse(bool isAck, ReadOnlySpan<byte> value) =>
        new() { IsAck = isAck, Parameters = SctpParameter.ParseList(value) };
}
