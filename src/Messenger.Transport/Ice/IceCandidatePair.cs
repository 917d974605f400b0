using System.Net;

namespace Messenger.Transport.Ice;

/// <summary>Pair states of RFC 8445 §6.1.2.6.</summary>
public enum IceCandidatePairState
{
    Frozen,
    Waiting,
    InProgress,
    Succeeded,
    Failed,
}

/// <summary>A local candidate paired with a remote one (RFC 8445 §6.1.2); the agent owns and mutates it.</summary>
public sealed class IceCandidatePair
{
    internal IceCandidatePair(IceCandidate local, IceCandidate remote, IPEndPoint remoteEndPoint)
    {
        Local = local;
        Remote = remote;
        RemoteEndPoint = remoteEndPoint;
    }

    public IceCandidate Local { get; }

    public IceCandidate Remote { get; internal set; }

    public IPEndPoint RemoteEndPoint { get; }

    public IceCandidatePairState State { get; internal set; }

    public bool Nominated { get; internal set; }

    /// <summary>
    /// The remote sent us a Binding request on this pair that passed MESSAGE-INTEGRITY with our password: it is the
    /// peer, so its DTLS may be accepted even before our own check of the pair succeeded (RFC 8445 §7.3.1.4 — browsers
    /// and libdatachannel send their ClientHello right after their check of us succeeds).
    /// </summary>
    public bool RequestReceived { get; internal set; }

    /// <summary>The controlled agent saw USE-CANDIDATE before this pair succeeded (RFC 8445 §7.3.1.5).</summary>
    internal bool NominateOnSuccess { get; set; }

    internal string Foundation => Local.Foundation + ":" + Remote.Foundation;

    /// <summary>RFC 8445 §6.1.2.3: 2^32·MIN(G,D) + 2·MAX(G,D) + (G&gt;D ? 1 : 0), G the controlling side's priority.</summary>
    public ulong Priority(bool controlling)
    {
        ulong g = controlling ? Local.Priority : Remote.Priority;
        ulong d = controlling ? Remote.Priority : Local.Priority;
        return (Math.Min(g, d) << 32) + (2 * Math.Max(g, d)) + (g > d ? 1UL : 0UL);
    }

    public override string ToString() => $"{Local.Address}:{Local.Port} → {RemoteEndPoint} ({Remote.Type}, {State})";
}
