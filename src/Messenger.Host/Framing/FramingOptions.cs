namespace Messenger.Host.Framing;

/// <summary>Limits and tuning of the framing and the send scheduler.</summary>
public sealed class FramingOptions
{
    /// <summary>
    /// Bulk frames are written only while the channel's buffered amount is at or below this many bytes. It bounds how
    /// long a chat frame can wait behind file chunks, and must cover the path's bandwidth-delay product for speed.
    /// </summary>
    public long BulkBufferThreshold { get; set; } = 512 * 1024;

    /// <summary>The largest frame accepted from the peer, in bytes; matches the 262,144-byte max-message-size we advertise.</summary>
    public int MaxReceivedFrameSize { get; set; } = 256 * 1024;

    /// <summary>
    /// Frames one handler may have waiting before the session stops reading (see PeerSession). Frames normally wait
    /// on the transport's receive window first (5 MiB); this bounds a flood of tiny frames.
    /// </summary>
    public int HandlerQueueCapacity { get; set; } = 4096;

    /// <summary>
    /// Bytes of frames one handler may have waiting before the session stops reading. Above our transport's 5 MiB
    /// receive window, so over it the window binds first and chat is never held behind a slow handler.
    /// </summary>
    public long HandlerQueueBytes { get; set; } = 8 * 1024 * 1024;
}
