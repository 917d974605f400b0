namespace Messenger.Transport.Stun;

/// <summary>Retransmission settings of <see cref="StunClient"/>; the defaults are RFC 8489 §6.2.1's.</summary>
public sealed record StunClientOptions
{
    /// <summary>RTO: the first retransmission comes after this, each next after twice the previous wait.</summary>
    public TimeSpan InitialRto { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Rc: how many times a request is sent in all.</summary>
    public int MaxTransmissions { get; init; } = 7;

    /// <summary>Rm: after the last send the client waits this many RTOs for a response.</summary>
    public int FinalWaitMultiplier { get; init; } = 16;

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
