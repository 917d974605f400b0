namespace Messenger.Host.Framing;

/// <summary>Counts of what a session received. Safe to read from any thread.</summary>
public sealed class FrameStatistics
{
    private long _received;
    private long _delivered;
    private long _unknownKind;
    private long _malformed;
    private long _handlerFailed;

    /// <summary>Data-channel messages received.</summary>
    public long Received => Interlocked.Read(ref _received);

    /// <summary>Frames handed to their handler, which handled them without error.</summary>
    public long Delivered => Interlocked.Read(ref _delivered);

    /// <summary>Well-formed frames of a kind no handler owns: dropped, for forward compatibility.</summary>
    public long UnknownKind => Interlocked.Read(ref _unknownKind);

    /// <summary>Messages that were not well-formed frames, or whose body its handler rejected as malformed.</summary>
    public long Malformed => Interlocked.Read(ref _malformed);

    /// <summary>Frames whose handler failed with an unexpected error (logged).</summary>
    public long HandlerFailed => Interlocked.Read(ref _handlerFailed);

    internal void OnReceived() => Interlocked.Increment(ref _received);

    internal void OnDelivered() => Interlocked.Increment(ref _delivered);

    internal void OnUnknownKind() => Interlocked.Increment(ref _unknownKind);

    internal void OnMalformed() => Interlocked.Increment(ref _malformed);

    internal void OnHandlerFailed() => Interlocked.Increment(ref _handlerFailed);
}
