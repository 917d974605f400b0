namespace Messenger.Contracts.Channels;

/// <summary>The life cycle of a data channel, as in the W3C <c>RTCDataChannel.readyState</c>.</summary>
public enum DataChannelState
{
    /// <summary>The channel is being opened; sends are not yet allowed.</summary>
    Connecting,

    /// <summary>The channel is open; messages flow both ways.</summary>
    Open,

    /// <summary>A close has started; no new sends are accepted.</summary>
    Closing,

    /// <summary>The channel is closed; the receive stream has ended.</summary>
    Closed,
}
