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
}
