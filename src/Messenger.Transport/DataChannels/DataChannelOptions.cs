namespace Messenger.Transport.DataChannels;

/// <summary>How a data channel is opened, as in the W3C <c>RTCDataChannelInit</c>.</summary>
public sealed record DataChannelOptions
{
    public string Protocol { get; init; } = "";

    public bool Ordered { get; init; } = true;

    /// <summary>Give up on a message after this many retransmissions; exclusive with <see cref="MaxPacketLifeTime"/>.</summary>
    public int? MaxRetransmits { get; init; }

    /// <summary>Give up on a message this long after it was sent; exclusive with <see cref="MaxRetransmits"/>.</summary>
    public TimeSpan? MaxPacketLifeTime { get; init; }

    /// <summary>RFC 8832 §5.1 priority; 256 is the W3C "low" default.</summary>
    public ushort Priority { get; init; } = 256;
}
