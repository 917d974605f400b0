namespace Messenger.Transport.Sctp.Chunks;

/// <summary>COOKIE-ECHO (RFC 9260 §3.3.11): the state cookie returned unchanged.</summary>
internal sealed class CookieEchoChunk(byte[] cookie) : Chunk
{
    public byte[] Cookie { get; } = cookie;

    public override ChunkType Type => ChunkType.CookieEcho;

    public override int ValueLength => Cookie.Length;

    protected override void WriteValue(Span<byte> destination) => Cookie.CopyTo(destination);
}
