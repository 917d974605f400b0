namespace Messenger.Transport.Sctp;

/// <summary>What an <see cref="SctpAssociation"/> reports to its owner.</summary>
public enum SctpEventKind
{
    /// <summary>The handshake finished; data may flow.</summary>
    Connected,

    /// <summary>A graceful shutdown finished.</summary>
    Closed,

    /// <summary>The association ended abruptly: peer ABORT, too many retransmissions, or a local abort.</summary>
    Aborted,

    /// <summary>The peer restarted the association (RFC 9260 §5.2.4 case A); stream state was reset.</summary>
    Restarted,

    /// <summary>A complete user message arrived.</summary>
    MessageReceived,

    /// <summary>The peer reset its outgoing streams, so our incoming ones restart at SSN 0 (RFC 6525 §5.2.2).</summary>
    IncomingStreamsReset,

    /// <summary>Our outgoing stream reset was performed by the peer (RFC 6525 §5.2.7).</summary>
    OutgoingStreamsReset,

    /// <summary>Queued bytes of a stream were sent for the first time, or dropped unsent.</summary>
    BufferedAmountDecreased,

    /// <summary>The peer sent an ERROR chunk; <see cref="SctpEvent.Reason"/> names the causes.</summary>
    ErrorReceived,
}

/// <summary>
/// One event; which fields are set depends on <see cref="Kind"/>. A <see cref="SctpEventKind.MessageReceived"/> event's
/// <see cref="Message"/> is in a pooled array: the owner releases it once the message has been read.
/// </summary>
public readonly record struct SctpEvent(
    SctpEventKind Kind,
    ushort StreamId = 0,
    uint PayloadProtocolId = 0,
    InboundMessage Message = default,
    ushort[]? Streams = null,
    long Bytes = 0,
    string? Reason = null);
