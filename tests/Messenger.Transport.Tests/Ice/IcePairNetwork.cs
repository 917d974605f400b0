using System.Net;
using Messenger.Transport.Ice;

namespace Messenger.Transport.Tests.Ice;

/// <summary>
/// Two <see cref="IceAgent"/>s on an in-memory datagram network driven by a virtual clock, with seeded loss.
/// Addresses are made up (documentation range); nothing touches a socket.
/// </summary>
internal sealed class IcePairNetwork
{
    public static readonly IPEndPoint AddressA = new(IPAddress.Parse("192.0.2.1"), 50001);
    public static readonly IPEndPoint AddressB = new(IPAddress.Parse("192.0.2.2"), 50002);

    private readonly Random _random;
    private readonly List<(TimeSpan At, bool ToA, byte[] Datagram, IPEndPoint Source)> _inFlight = [];

    public IcePairNetwork(int seed, bool aControlling = true, bool bControlling = false, Func<IceAgentOptions, IceAgentOptions>? configure = null)
    {
        _random = new Random(seed);
        configure ??= static o => o;
        A = new IceAgent(configure(Options(aControlling, "ufrA", "passwordA-0123456789abcdef", seed)));
        B = new IceAgent(configure(Options(bControlling, "ufrB", "passwordB-0123456789abcdef", seed + 1)));
        CandidateA = Host(AddressA);
        CandidateB = Host(AddressB);
        A.AddLocalCandidate(CandidateA, Now);
        B.AddLocalCandidate(CandidateB, Now);
    }

    public IceAgent A { get; }

    public IceAgent B { get; }

    public IceCandidate CandidateA { get; }

    public IceCandidate CandidateB { get; }

    public TimeSpan Now { get; private set; }

    public double Loss { get; set; }

    public TimeSpan Delay { get; set; } = TimeSpan.FromMilliseconds(10);

    /// <summary>Probability that a datagram arrives twice.</summary>
    public double Duplication { get; set; }

    /// <summary>Extra random delay up to this much per datagram, so datagrams overtake each other.</summary>
    public TimeSpan Jitter { get; set; }

    /// <summary>Drop everything B sends (B has vanished or is a black hole).</summary>
    public bool BSilent { get; set; }

    public int SentByA { get; private set; }

    public List<byte[]> FromA { get; } = [];

    public static IceAgentOptions Options(bool controlling, string ufrag, string pwd, int seed) => new()
    {
        Controlling = controlling,
        LocalUfrag = ufrag,
        LocalPwd = pwd,
        RandomSeed = seed,
        CheckingTimeout = TimeSpan.FromSeconds(10),
        ConsentInterval = TimeSpan.FromSeconds(1),
        DisconnectedTimeout = TimeSpan.FromSeconds(3),
        ConsentTimeout = TimeSpan.FromSeconds(6),
    };

    public static IceCandidate Host(IPEndPoint endPoint) => new()
    {
        Foundation = endPoint.Address.ToString().Replace(".", "", StringComparison.Ordinal),
        Priority = IceCandidate.ComputePriority(IceCandidateType.Host, 65535),
        Address = endPoint.Address.ToString(),
        Port = endPoint.Port,
        Type = IceCandidateType.Host,
    };

    /// <summary>Exchanges credentials; candidates only where asked (an unsignalled side shows up as prflx).</summary>
    public void Signal(bool aLearnsB = true, bool bLearnsA = true)
    {
        A.SetRemoteCredentials("ufrB", "passwordB-0123456789abcdef", Now);
        B.SetRemoteCredentials("ufrA", "passwordA-0123456789abcdef", Now);
        if (aLearnsB)
        {
            A.AddRemoteCandidate(CandidateB, Now);
            A.SetRemoteEndOfCandidates(Now);
        }

        if (bLearnsA)
        {
            B.AddRemoteCandidate(CandidateA, Now);
            B.SetRemoteEndOfCandidates(Now);
        }
    }

    /// <summary>Runs the network until <paramref name="done"/> holds or virtual <paramref name="limit"/> passes.</summary>
    public bool RunUntil(Func<bool> done, TimeSpan limit)
    {
        var end = Now + limit;
        while (true)
        {
            Collect();
            if (done())
            {
                return true;
            }

            var next = TimeSpan.MaxValue;
            foreach (var flight in _inFlight)
            {
                next = flight.At < next ? flight.At : next;
            }

            next = Min(next, Min(A.NextTimeout, B.NextTimeout));
            if (next > end)
            {
                Now = end;
                return done();
            }

            Now = next > Now ? next : Now;
            for (var i = 0; i < _inFlight.Count; i++)
            {
                var flight = _inFlight[i];
                if (flight.At <= Now)
                {
                    _inFlight.RemoveAt(i--);
                    (flight.ToA ? A : B).HandleDatagram(flight.Datagram, flight.Source, Now);
                }
            }

            if (A.NextTimeout <= Now)
            {
                A.HandleTimeout(Now);
            }

            if (B.NextTimeout <= Now)
            {
                B.HandleTimeout(Now);
            }
        }
    }

    private void Collect()
    {
        while (A.TryDequeueTransmit(out var t))
        {
            SentByA++;
            FromA.Add(t.Datagram);
            if (t.Destination.Equals(AddressB))
            {
                Send(toA: false, t.Datagram, AddressA);
            }
        }

        while (B.TryDequeueTransmit(out var t))
        {
            if (!BSilent && t.Destination.Equals(AddressA))
            {
                Send(toA: true, t.Datagram, AddressB);
            }
        }

        while (A.TryDequeueEvent(out _) || B.TryDequeueEvent(out _))
        {
        }
    }

    private void Send(bool toA, byte[] datagram, IPEndPoint source)
    {
        var copies = _random.NextDouble() < Duplication ? 2 : 1;
        for (var i = 0; i < copies; i++)
        {
            if (_random.NextDouble() >= Loss)
            {
                _inFlight.Add((Now + Delay + (Jitter * _random.NextDouble()), toA, datagram, source));
            }
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
