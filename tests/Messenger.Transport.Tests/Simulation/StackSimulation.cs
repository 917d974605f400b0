using System.Net;
using Messenger.Contracts.Channels;
using Messenger.Transport.Connection;
using Messenger.Transport.DataChannels;
using Messenger.Transport.Dtls;
using Messenger.Transport.Ice;
using Messenger.Transport.Sctp;
using Messenger.Transport.Stun;

namespace Messenger.Transport.Tests.Simulation;

/// <summary>
/// The whole stack of two peers — ICE agent, DTLS record layer, SCTP, DCEP and data channels, i.e. two
/// <see cref="ConnectionCore"/>s — on a seeded lossy network with a virtual clock: UDP datagrams between 10.0.0.1 and
/// 10.0.0.2, impaired by <see cref="LinkConditions"/> per direction, a link that can be cut. Nothing sleeps and a seed
/// replays a run. The one part outside virtual time is BouncyCastle's handshake, which blocks on threads of its own:
/// the clock stands still while it works, and its flights travel the link's delay but are never dropped (BouncyCastle
/// would otherwise retransmit on its own real-time clock, and the run would no longer replay).
/// </summary>
internal sealed class StackSimulation : IDisposable
{
    private static readonly TimeSpan HandshakeSettle = TimeSpan.FromSeconds(20);

    private readonly PriorityQueue<Delivery, (TimeSpan, long)> _inFlight = new();
    private readonly Lock _gate = new();
    private readonly Random _random;
    private readonly TimeSpan[] _linkFree = new TimeSpan[2];
    private long _sequence;

    public StackSimulation(int seed, LinkConditions conditions, Func<IceAgentOptions, IceAgentOptions>? agent = null)
    {
        Seed = seed;
        _random = new Random(seed);
        Conditions = [conditions, conditions];
        A = new Side(this, 0, new IPEndPoint(IPAddress.Parse("10.0.0.1"), 5000), controlling: true, agent ?? (static o => o), seed * 2);
        B = new Side(this, 1, new IPEndPoint(IPAddress.Parse("10.0.0.2"), 5000), controlling: false, agent ?? (static o => o), (seed * 2) + 1);
    }

    public int Seed { get; }

    public Side A { get; }

    public Side B { get; }

    public LinkConditions[] Conditions { get; }

    public TimeSpan Now { get; private set; }

    /// <summary>True drops everything either way, as a pulled cable does.</summary>
    public bool Cut { get; set; }

    public long DatagramsSent { get; private set; }

    /// <summary>Called on every step; a test feeds data or reads what arrived.</summary>
    public Action<StackSimulation>? OnStep { get; set; }

    /// <summary>Both sides describe themselves to each other (as SDP would) and start ICE; A controls, A is the DTLS server.</summary>
    public void Start()
    {
        A.StartIce(B);
        B.StartIce(A);
    }

    /// <summary>Advances the virtual clock until <paramref name="done"/> holds or <paramref name="limit"/> of virtual time passed.</summary>
    public bool RunUntil(Func<bool> done, TimeSpan limit)
    {
        var end = Now + limit;
        while (true)
        {
            A.Settle();
            B.Settle();
            OnStep?.Invoke(this);
            A.Step();
            B.Step();
            if (done())
            {
                return true;
            }

            var next = Min(A.Core.NextTimeout, B.Core.NextTimeout);
            lock (_gate)
            {
                if (_inFlight.TryPeek(out _, out var head) && head.Item1 < next)
                {
                    next = head.Item1;
                }
            }

            if (A.HasWork || B.HasWork)
            {
                next = Now; // a command or a finished handshake waits: no time passes
            }

            if (next > end)
            {
                Now = end;
                return done();
            }

            Now = next > Now ? next : Now;
            while (TryTakeDue(out var delivery))
            {
                (delivery.Direction == 0 ? B : A).Receive(delivery.Datagram, Now);
            }

            foreach (var side in (Side[])[A, B])
            {
                if (side.Core.NextTimeout <= Now)
                {
                    side.Core.HandleTimeout(Now);
                }
            }
        }
    }

    public string Describe() =>
        $"seed {Seed}, t={Now.TotalSeconds:F2}s, {Conditions[0]}, sent {DatagramsSent}; A: {A.Describe()}; B: {B.Describe()}";

    public void Dispose()
    {
        A.Dispose();
        B.Dispose();
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private bool TryTakeDue(out Delivery delivery)
    {
        lock (_gate)
        {
            if (_inFlight.TryPeek(out _, out var head) && head.Item1 <= Now)
            {
                delivery = _inFlight.Dequeue();
                return true;
            }
        }

        delivery = default;
        return false;
    }

    /// <summary>Puts one datagram on the link; <paramref name="clean"/> (handshake flights) is never dropped or reordered.</summary>
    private void Transmit(int direction, ReadOnlySpan<byte> datagram, bool clean)
    {
        var copy = datagram.ToArray();
        lock (_gate)
        {
            DatagramsSent++;
            var c = Conditions[direction];
            var start = _linkFree[direction] > Now ? _linkFree[direction] : Now;
            if (c.Bandwidth > 0)
            {
                start += TimeSpan.FromTicks(copy.Length * TimeSpan.TicksPerSecond / c.Bandwidth);
                _linkFree[direction] = start;
            }

            if (Cut || (!clean && _random.NextDouble() < c.Loss))
            {
                return;
            }

            var copies = !clean && _random.NextDouble() < c.Duplication ? 2 : 1;
            for (var i = 0; i < copies; i++)
            {
                var arrival = start + c.Delay;
                if (!clean && _random.NextDouble() < c.Reordering)
                {
                    arrival += TimeSpan.FromTicks((long)(_random.NextDouble() * c.ReorderJitter.Ticks));
                }

                _inFlight.Enqueue(new Delivery(direction, copy), (arrival, _sequence++));
            }
        }
    }

    private readonly record struct Delivery(int Direction, byte[] Datagram);

    /// <summary>One peer: its core, the socket and loop it thinks it has, and its channels.</summary>
    internal sealed class Side : IConnectionSocket, IConnectionEvents, IDataChannelLoop, IDisposable
    {
        private readonly StackSimulation _net;
        private readonly int _direction;
        private readonly bool _controlling;
        private readonly Func<IceAgentOptions, IceAgentOptions> _agent;
        private readonly Queue<Action<TimeSpan>> _commands = new();
        private readonly Lock _commandsGate = new();
        private readonly byte[] _buffer = new byte[65536];
        private readonly DtlsCertificate _certificate = DtlsCertificate.Generate();
        private readonly string _ufrag;
        private readonly string _pwd;
        private IPEndPoint? _remote;
        private Side? _peer;
        private QueuedDatagramTransport? _path;
        private Task<DtlsHandshakeResult>? _handshake;
        private long _consumedPending;

        public Side(StackSimulation net, int direction, IPEndPoint address, bool controlling, Func<IceAgentOptions, IceAgentOptions> agent, int seed)
        {
            _net = net;
            _direction = direction;
            _controlling = controlling;
            _agent = agent;
            Address = address;
            (_ufrag, _pwd) = Messenger.Transport.Sdp.SessionDescription.NewIceCredentials();
            Core = new ConnectionCore(this, this);
            Association = new SctpAssociation(SctpAssociationOptions.ForDataChannels with { RandomSeed = seed });
            Channels = new DataChannelSet(Association, this, isDtlsClient: !controlling, remoteMaxMessageSize: 262144, streams: SctpAssociationOptions.ForDataChannels.Streams);
            Core.ConfigureSctp(Association, Channels, SctpAssociationOptions.ForDataChannels.Mtu);
        }

        public IPEndPoint Address { get; }

        public ConnectionCore Core { get; }

        public SctpAssociation Association { get; }

        public DataChannelSet Channels { get; }

        public List<IceConnectionState> IceStates { get; } = [];

        public DtlsException? DtlsClosed { get; private set; }

        public bool DtlsEstablished => Core.Records is not null;

        public Exception? HandshakeFailure { get; private set; }

        public bool HasWork
        {
            get
            {
                lock (_commandsGate)
                {
                    return _commands.Count > 0 || _handshake is { IsCompleted: true };
                }
            }
        }

        public SctpDataChannel CreateChannel(string label, DataChannelOptions? options = null)
        {
            var channel = Channels.Create(label, options ?? new DataChannelOptions());
            PostOpen(channel);
            return channel;
        }

        public string Describe() =>
            $"ice [{string.Join(",", IceStates)}] dtls {(DtlsEstablished ? "up" : "down")} sctp {Association.State} cwnd {Association.CongestionWindow} rtx {Association.RetransmittedChunks} t3 {Association.RetransmissionTimeouts}";

        internal void StartIce(Side peer)
        {
            _peer = peer;
            var options = _agent(new IceAgentOptions { Controlling = _controlling, LocalUfrag = _ufrag, LocalPwd = _pwd, RandomSeed = _net.Seed + _direction });
            Core.StartIce(options, [Host(Address)], _net.Now);
            Core.WithAgent((agent, now) =>
            {
                agent.SetRemoteCredentials(peer._ufrag, peer._pwd, now);
                agent.AddRemoteCandidate(Host(peer.Address), now);
                agent.SetRemoteEndOfCandidates(now);
            }, _net.Now);
        }

        /// <summary>Waits (real time) until our handshake thread is idle on an empty path, or done; then takes its result.</summary>
        internal void Settle()
        {
            if (_path is not { } path || _handshake is not { } handshake)
            {
                return;
            }

            if (!SpinWait.SpinUntil(() => handshake.IsCompleted || (path.Waiting > 0 && path.Queued == 0), HandshakeSettle))
            {
                throw new TimeoutException($"The DTLS handshake thread did not settle. {_net.Describe()}");
            }
        }

        internal void Step()
        {
            var now = _net.Now;
            if (_handshake is { IsCompleted: true } handshake)
            {
                _handshake = null;
                if (handshake.IsCompletedSuccessfully)
                {
                    Core.CompleteHandshake(handshake.Result, now);
                }
                else
                {
                    HandshakeFailure = handshake.Exception?.InnerException;
                    Core.AbandonHandshake();
                }

                _path = null;
            }

            while (true)
            {
                Action<TimeSpan>? command;
                lock (_commandsGate)
                {
                    if (!_commands.TryDequeue(out command))
                    {
                        break;
                    }
                }

                command(now);
            }

            Core.Flush(now);
        }

        internal void Receive(byte[] datagram, TimeSpan now) => Core.HandleDatagram(datagram, Encode(_peer!.Address), now);

        public void Dispose()
        {
            _path?.Dispose();
            try
            {
                _handshake?.Wait(TimeSpan.FromSeconds(5));
            }
            catch (AggregateException)
            {
                // The handshake failed or was cut short with the path; the test already looked.
            }

            Core.Dispose();
        }

        // ------------------------------------------------ IConnectionEvents

        public void OnIceStateChanged(IceConnectionState state)
        {
            IceStates.Add(state);
            if (state is IceConnectionState.Connected or IceConnectionState.Completed && _path is null && _handshake is null && !DtlsEstablished && HandshakeFailure is null)
            {
                // As PeerConnection does: DTLS starts once ICE has a pair; A (the offerer) is the server.
                var path = new QueuedDatagramTransport((DatagramSender)(d => _net.Transmit(_direction, d, clean: true)));
                _path = path;
                Core.BeginHandshake(path);
                _handshake = DtlsHandshake.RunAsync(path, new DtlsConnectionOptions
                {
                    Role = _controlling ? DtlsRole.Server : DtlsRole.Client,
                    Certificate = _certificate,
                    RemoteFingerprint = _peer!._certificate.Fingerprint,

                    // The flights are never lost here; a real-time retransmission (a slow first handshake in the
                    // process, a loaded machine) would only make the run differ from its replay.
                    InitialRetransmit = TimeSpan.FromSeconds(30),
                    HandshakeTimeout = TimeSpan.FromMinutes(2),
                });
            }
            else if (state == IceConnectionState.Failed)
            {
                Core.AbandonHandshake();
                Core.Abort("ICE failed.");
            }
        }

        public void OnDtlsClosed(DtlsException? error) => DtlsClosed = error ?? new DtlsException("close_notify");

        public void OnStunResponse(StunMessage message)
        {
        }

        // ------------------------------------------------ IConnectionSocket

        public Span<byte> Reserve(int maxLength) => _buffer.AsSpan(0, maxLength);

        public void Commit(int length) => _net.Transmit(_direction, _buffer.AsSpan(0, length), clean: false);

        public void SendTo(ReadOnlySpan<byte> datagram, IPEndPoint destination) => _net.Transmit(_direction, datagram, clean: false);

        public void SetRemote(IPEndPoint remote) => _remote = remote;

        public byte[] Encode(IPEndPoint endPoint)
        {
            var address = endPoint.Serialize();
            return address.Buffer.Span[..address.Size].ToArray();
        }

        public IPEndPoint Decode(ReadOnlySpan<byte> address)
        {
            var socketAddress = new System.Net.SocketAddress(System.Net.Sockets.AddressFamily.InterNetwork, address.Length);
            address.CopyTo(socketAddress.Buffer.Span);
            return (IPEndPoint)new IPEndPoint(IPAddress.Any, 0).Create(socketAddress);
        }

        // ------------------------------------------------ IDataChannelLoop

        public void PostSend(SctpDataChannel channel, uint ppid, OutboundPayload payload) => Post(now => Core.Send(channel, ppid, payload, now));

        public void PostOpen(SctpDataChannel channel) => Post(now => Core.Open(channel, now));

        public void PostClose(SctpDataChannel channel) => Post(_ => Core.Close(channel));

        public void ReportConsumed(long bytes)
        {
            if (Interlocked.Add(ref _consumedPending, bytes) == bytes)
            {
                Post(_ => Core.Consumed(Interlocked.Exchange(ref _consumedPending, 0)));
            }
        }

        private void Post(Action<TimeSpan> command)
        {
            lock (_commandsGate)
            {
                _commands.Enqueue(command);
            }
        }

        private static IceCandidate Host(IPEndPoint address) => new()
        {
            Foundation = "1",
            Priority = IceCandidate.ComputePriority(IceCandidateType.Host, 65535),
            Address = address.Address.ToString(),
            Port = address.Port,
            Type = IceCandidateType.Host,
        };
    }
}
