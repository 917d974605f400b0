namespace Messenger.Transport.Sctp;

/// <summary>The send side of one stream: its queue and next SSN.</summary>
internal sealed class OutboundStream(ushort id)
{
    public ushort Id { get; } = id;

    public Queue<OutboundMessage> Queue { get; } = new();

    public ushort NextSsn { get; set; }

    /// <summary>True while the stream sits in the scheduler's round-robin.</summary>
    public bool Scheduled { get; set; }

    public bool ResetRequested { get; set; }
}
