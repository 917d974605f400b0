namespace Messenger.Transport.Sctp;

/// <summary>Tunables of an <see cref="SctpAssociation"/>; the defaults advertise what Chromium advertises.</summary>
public sealed record SctpAssociationOptions
{
    /// <summary>
    /// What a WebRTC data channel connection starts from: the RFC 9260 §16 values except RTO.Initial 500 ms and
    /// RTO.Min 400 ms, as Chromium's dcSCTP shipped. The floor stays above a peer's 200 ms delayed SACK (RFC 9260
    /// §6.2) plus a typical RTT, so a delayed SACK does not cause a spurious T3 retransmission and a cwnd collapse.
    /// </summary>
    public static SctpAssociationOptions ForDataChannels => new()
    {
        RtoInitial = TimeSpan.FromMilliseconds(500),
        RtoMin = TimeSpan.FromMilliseconds(400),
    };

    /// <summary>RFC 8841: WebRTC uses SCTP port 5000 on both sides unless SDP says otherwise.</summary>
    public ushort LocalPort { get; init; } = 5000;

    public ushort RemotePort { get; init; } = 5000;

    /// <summary>Largest SCTP packet to send; 1200 leaves room for DTLS, UDP and IPv6 headers on any path.</summary>
    public int Mtu { get; init; } = 1200;

    /// <summary>The a_rwnd we advertise: 5 MiB, as Chromium.</summary>
    public uint ReceiveWindow { get; init; } = 5 * 1024 * 1024;

    public ushort Streams { get; init; } = 65535;

    /// <summary>
    /// The largest message we accept (our SDP a=max-message-size). Reassembly memory is capped at the receive window
    /// plus this, whatever the peer does.
    /// </summary>
    public int MaxReceiveMessageSize { get; init; } = 256 * 1024;

    /// <summary>RFC 9260 §16: RTO.Initial 1 s.</summary>
    public TimeSpan RtoInitial { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>RFC 9260 §16 says 1 s; WebRTC stacks use less (see <see cref="ForDataChannels"/>).</summary>
    public TimeSpan RtoMin { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan RtoMax { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>RFC 9260 §6.2: a SACK is sent within 200 ms of the first unacknowledged DATA.</summary>
    public TimeSpan DelayedAckTimeout { get; init; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>RFC 9260 §16: Valid.Cookie.Life 60 s.</summary>
    public TimeSpan CookieLifetime { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>RFC 9260 §16: Max.Init.Retransmits 8.</summary>
    public int MaxInitRetransmits { get; init; } = 8;

    /// <summary>RFC 9260 §16: Association.Max.Retrans 10.</summary>
    public int MaxAssociationRetransmits { get; init; } = 10;

    /// <summary>A fixed initial TSN instead of a random one; tests use it to cross the 2^32 wrap.</summary>
    public uint? InitialTsn { get; init; }

    /// <summary>When set, tags, TSNs and the cookie secret come from this seed, so simulations replay exactly.</summary>
    public int? RandomSeed { get; init; }
}
