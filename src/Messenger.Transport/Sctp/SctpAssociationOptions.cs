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
        CongestionControl = SctpCongestionControl.Veno,
        QueueDelayTarget = TimeSpan.FromMilliseconds(3),
        InitialCongestionWindowMtus = 10,
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

    /// <summary>How the window reacts to a loss found by fast retransmit; see <see cref="SctpCongestionControl"/>.</summary>
    public SctpCongestionControl CongestionControl { get; init; } = SctpCongestionControl.Rfc9260;

    /// <summary>
    /// When set, the sender keeps the queue it builds in front of the path's slowest point (a router, or a busy
    /// receiver's socket) at about this long: once per round of a window's acked bytes it compares the smallest of
    /// its last four RTT samples with the base RTT (the smallest of the last 30 s), and when the difference exceeds the
    /// target it cuts cwnd to what the target allows, <c>cwnd × (base RTT + target) / RTT</c> (never below half or
    /// 4 MTUs) and leaves slow start; while above the target cwnd does not grow. A chat message on the same stream as a
    /// bulk transfer then waits about the target behind it instead of a whole receive window (5 MiB, 40 ms at
    /// 130 MB/s). A deliberate addition to RFC 9260 §7.2, after TCP Vegas and LEDBAT (RFC 6817). Null: loss-based only.
    /// </summary>
    public TimeSpan? QueueDelayTarget { get; init; }

    /// <summary>
    /// When set, cwnd starts at this many MTUs instead of RFC 9260
    /// §7.2.1's <c>min(4 MTU, max(2 MTU, 4380))</c>, as dcSCTP's 10 and TCP's RFC 6928 do: a transfer that starts on a
    /// link idle but for chat reaches the path's rate two rounds sooner, and a chat frame queued behind its first bulk
    /// frame waits two round trips less. Null: the RFC's value.
    /// </summary>
    public int? InitialCongestionWindowMtus { get; init; }

    /// <summary>A fixed initial TSN instead of a random one; tests use it to cross the 2^32 wrap.</summary>
    public uint? InitialTsn { get; init; }

    /// <summary>When set, tags, TSNs and the cookie secret come from this seed, so simulations replay exactly.</summary>
    public int? RandomSeed { get; init; }
}

/// <summary>The reaction of the congestion window to a loss that fast retransmit repairs.</summary>
public enum SctpCongestionControl
{
    /// <summary>RFC 9260 §7.2.3/§7.2.4 as written: every loss event halves cwnd (TCP Reno).</summary>
    Rfc9260,

    /// <summary>
    /// A deliberate deviation from RFC 9260 §7.2.3 for links that lose packets without being congested (Wi-Fi, mobile,
    /// a lossy relay), after TCP Veno (Fu and Liew, IEEE JSAC 21(2), 2003). The sender estimates how many of its bytes
    /// wait in queues, <c>cwnd × (RTT − base RTT) / RTT</c>, where the base RTT is the smallest sample of the last
    /// 30 s. A loss while that backlog is under three packets cannot be the queue overflowing: cwnd is cut to 4/5
    /// instead of 1/2. A loss with a standing queue halves it as RFC 9260 does, and while the backlog stays at three
    /// packets or more congestion avoidance grows cwnd by one MTU every second round trip instead of every one.
    /// Timeouts still collapse cwnd to one MTU (RFC 9260 §7.2.3).
    /// </summary>
    Veno,
}
