namespace Messenger.Transport.Ice;

/// <summary>ICE connection states, as the W3C RTCIceConnectionState names them (RFC 8445 §6.1.3 plus consent).</summary>
public enum IceConnectionState
{
    New,
    Checking,
    Connected,
    Completed,
    Failed,
    Disconnected,
    Closed,
}

/// <summary>Settings of one <see cref="IceAgent"/>; times are options so tests can run them fast.</summary>
public sealed record IceAgentOptions
{
    /// <summary>RFC 8445 §6.1.1: the offerer (a full agent) starts as controlling.</summary>
    public required bool Controlling { get; init; }

    public required string LocalUfrag { get; init; }

    public required string LocalPwd { get; init; }

    /// <summary>RFC 8445 §16.1 tie-breaker; random when null.</summary>
    public ulong? TieBreaker { get; init; }

    /// <summary>Ta, the pacing between new checks (RFC 8445 §14.2: 50 ms by default).</summary>
    public TimeSpan Ta { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>First retransmission of a check; doubles up to <see cref="MaxCheckRto"/> (RFC 8445 §14.3).</summary>
    public TimeSpan CheckRto { get; init; } = TimeSpan.FromMilliseconds(250);

    public TimeSpan MaxCheckRto { get; init; } = TimeSpan.FromMilliseconds(1600);

    /// <summary>Sends of one check before its pair fails (Rc, RFC 8489 §6.2.1).</summary>
    public int MaxCheckTransmissions { get; init; } = 7;

    /// <summary>Nominate on every check (aggressive) instead of after a valid pair is found (regular, RFC 8445 §8.1.1).</summary>
    public bool AggressiveNomination { get; init; }

    /// <summary>Regular nomination waits this long after the first valid pair for better pairs to succeed.</summary>
    public TimeSpan NominationDelay { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Fail when no pair has been selected this long after checking started.</summary>
    public TimeSpan CheckingTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>RFC 7675 §5.1: a consent check every 5 s on average (randomized ±20 %).</summary>
    public TimeSpan ConsentInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// With nothing at all from the peer this long (no consent response, no DTLS record) the state turns
    /// Disconnected, and back when anything arrives again: how a user learns within seconds that the other side is gone.
    /// </summary>
    public TimeSpan DisconnectedTimeout { get; init; } = DefaultDisconnectedTimeout;

    /// <summary>The default of <see cref="DisconnectedTimeout"/>, for applications that tell their users how long it is.</summary>
    public static readonly TimeSpan DefaultDisconnectedTimeout = TimeSpan.FromSeconds(4);

    /// <summary>
    /// After this long with nothing from the peer, a consent check goes out at once instead of at its next randomized
    /// time (one at a time): a silent link is probed, so <see cref="DisconnectedTimeout"/> tells a quiet peer from a gone one.
    /// </summary>
    public TimeSpan ProbeAfter { get; init; } = TimeSpan.FromSeconds(1.5);

    /// <summary>RFC 7675 §5.1: consent expires 30 s after the last response; the state turns Failed and sending stops.</summary>
    public TimeSpan ConsentTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Seed for the consent jitter; null for a random one.</summary>
    public int? RandomSeed { get; init; }
}
