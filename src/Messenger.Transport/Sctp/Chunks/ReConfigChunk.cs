namespace Messenger.Transport.Sctp.Chunks;

/// <summary>RE-CONFIG (RFC 6525 §3.1): one or two re-configuration parameters.</summary>
internal sealed class ReConfigChunk(List<SctpParameter> parameters) : Chunk
{
    public List<SctpParameter> Parameters { get; } = parameters;

    public override ChunkType Type => ChunkType.ReConfig;

    public override int ValueLength => SctpParameter.ListLength(Parameters);

    protected override void WriteValue(Span<byte> destination) => SctpParameter.WriteList(Parameters, destination);

    public static ReConfigChunk Parse(ReadOnlySpan<byte> value) => new(SctpParameter.ParseList(value));
}
