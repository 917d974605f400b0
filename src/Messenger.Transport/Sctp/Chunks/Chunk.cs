using System.Buffers.Binary;

namespace Messenger.Transport.Sctp.Chunks;

/// <summary>One SCTP chunk (RFC 9260 §3.2): type, flags, and a value that subclasses lay out.</summary>
internal abstract class Chunk
{
    public abstract ChunkType Type { get; }

    public virtual byte Flags => 0;

    /// <summary>Length of the value, without the 4-byte chunk header and without padding.</summary>
    public abstract int ValueLength { get; }

    public int PaddedLength => Padding.Align4(4 + ValueLength);

    public int WriteTo(Span<byte> destination)
    {
        var length = 4 + ValueLength;
        destination[0] = (byte)Type;
        destination[1] = Flags;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], checked((ushort)length));
        WriteValue(destination[4..length]);
        destination[length..PaddedLength].Clear();
        return PaddedLength;
    }

    protected abstract void WriteValue(Span<byte> destination);

    /// <summary>Parses one chunk value; throws <see cref="SctpParseException"/> if it is malformed.</summary>
    public static Chunk Parse(byte type, byte flags, ReadOnlySpan<byte> value) => (ChunkType)type switch
    {
        ChunkType.Data => DataChunk.Parse(flags, value),
        ChunkType.Init => InitChunk.Parse(isAck: false, value),
        ChunkType.InitAck => InitChunk.Parse(isAck: true, value),
        ChunkType.Sack => SackChunk.Parse(value),
        ChunkType.Heartbeat => HeartbeatChunk.Parse(isAck: false, value),
        ChunkType.HeartbeatAck => HeartbeatChunk.Parse(isAck: true, value),
        ChunkType.Abort => CauseListChunk.Parse(ChunkType.Abort, flags, value),
        ChunkType.Error => CauseListChunk.Parse(ChunkType.Error, flags, value),
        ChunkType.Shutdown => ShutdownChunk.Parse(value),
        ChunkType.ShutdownAck => EmptyChunk.Parse(ChunkType.ShutdownAck, flags, value),
        ChunkType.CookieAck => EmptyChunk.Parse(ChunkType.CookieAck, flags, value),
        ChunkType.ShutdownComplete => EmptyChunk.Parse(ChunkType.ShutdownComplete, flags, value),
        ChunkType.CookieEcho => new CookieEchoChunk(value.ToArray()),
        ChunkType.ForwardTsn => ForwardTsnChunk.Parse(value),
        ChunkType.ReConfig => ReConfigChunk.Parse(value),
        _ => new UnknownChunk(type, flags, value.ToArray()),
    };
}
