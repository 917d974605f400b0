namespace Messenger.Host.Framing;

/// <summary>Limits and tuning of the framing and the send scheduler.</summary>
public sealed class FramingOptions
{
    /// <summary>
    /// The most bulk data written ahead of the channel: bulk frames are written only while the channel's buffered
    /// (not yet sent) amount is at or below the threshold, which follows the measured send rate (see
    /// <see cref="BulkQueueDelay"/>) between <see cref="BulkBufferMinimum"/> and this.
    /// </summary>
    public long BulkBufferThreshold { get; set; } = 512 * 1024;

    /// <summary>
    /// How long a chat frame may wait behind bulk data already written to the channel: the threshold is the measured
    /// send rate times this (plus the one bulk frame that may follow it). Zero keeps the threshold fixed at
    /// <see cref="BulkBufferThreshold"/>.
    /// </summary>
    public TimeSpan BulkQueueDelay { get; set; } = TimeSpan.FromMilliseconds(2);

    /// <summary>The smallest threshold, so a slow link still has the next frame ready when the channel empties.</summary>
    public long BulkBufferMinimum { get; set; } = 4 * 1024;

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

    /// <summary>
    /// The hard bound on malformed frames from one peer in one session: the one after it closes the session, with the
    /// reason told to the peer. Each is dropped and counted; the log shows at most 10 lines per 10 s.
    /// </summary>
    public int MaxMalformedFramesPerSession { get; set; } = 1000;
}
