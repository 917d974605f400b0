using System.Net;
using System.Net.Sockets;
using Messenger.Transport.Connection;
using Messenger.Transport.Dtls;
using Messenger.Transport.Ice;
using Messenger.Transport.Stun;

namespace Messenger.Transport.Tests.Connection;

/// <summary>Two connection loops over real UDP on 127.0.0.1, ICE only (no DTLS above).</summary>
[Collection(Messenger.Transport.Tests.PeerConnection.PeerConnectionCollection.Name)]
public class ConnectionLoopTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private static IceTransportOptions Loopback() => new() { BindAddress = IPAddress.Loopback };

    [Fact]
    public async Task Connect_OverLoopbackUdp_SelectsEachOthersSocket_AndHandshakeDatagramsReachThePeer()
    {
        var (a, aEvents) = Create(Loopback());
        var (b, bEvents) = Create(Loopback());
        await using var _ = a;
        await using var __ = b;

        await ConnectAsync(a, aEvents, b, bEvents);

        Assert.Equal(b.LocalEndPoint, await OnLoopAsync(a, core => core.SelectedRemote));
        Assert.Equal(a.LocalEndPoint, await OnLoopAsync(b, core => core.SelectedRemote));
        using var path = new QueuedDatagramTransport((DatagramSender)(_ => { }));
        await OnLoopAsync(b, core => { core.BeginHandshake(path); return 0; });
        a.SendToSelected([22, 254, 253, 1]); // a DTLS-looking first byte (RFC 7983: 20–63)
        var buffer = new byte[64];
        var length = await Task.Run(() => path.Receive(buffer, Wait));
        Assert.Equal(new byte[] { 22, 254, 253, 1 }, buffer[..length]);
    }

    [Fact]
    public async Task Consent_PeerVanishes_DisconnectedThenFailedOnRealTimers()
    {
        static IceAgentOptions Fast(IceAgentOptions o) => o with { ConsentInterval = TimeSpan.FromMilliseconds(200), DisconnectedTimeout = TimeSpan.FromMilliseconds(800), ConsentTimeout = TimeSpan.FromSeconds(2) };
        var (a, aEvents) = Create(Loopback());
        var (b, bEvents) = Create(Loopback());
        await using var _ = a;
        await ConnectAsync(a, aEvents, b, bEvents, Fast);

        await b.DisposeAsync(); // vanishes without a word, as a crashed peer or a lost network does
        await aEvents.WaitForAsync(IceConnectionState.Disconnected);
        await aEvents.WaitForAsync(IceConnectionState.Failed);

        Assert.Contains("Consent expired", await OnLoopAsync(a, core => core.Agent!.FailureReason), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Post_WhileTheLoopWaitsOnAFarDeadline_RunsAtOnce()
    {
        var (a, _) = Create(Loopback());
        await using var loop = a;
        await Task.Delay(200); // the loop is asleep in its receive, nothing due

        var ran = await OnLoopAsync(a, _ => Environment.CurrentManagedThreadId).WaitAsync(TimeSpan.FromSeconds(2));
        Assert.NotEqual(Environment.CurrentManagedThreadId, ran);
    }

    [Fact]
    public void HostCandidates_BoundToAny_SkipLoopbackByDefault()
    {
        var withoutLoopback = HostCandidates.GatherHostCandidates(new IPEndPoint(IPAddress.Any, 5000), includeLoopback: false);
        var withLoopback = HostCandidates.GatherHostCandidates(new IPEndPoint(IPAddress.Any, 5000), includeLoopback: true);

        Assert.DoesNotContain(withoutLoopback, c => c.Address == "127.0.0.1");
        Assert.Contains(withLoopback, c => c.Address == "127.0.0.1");
        Assert.All(withLoopback, c => Assert.Equal(IceCandidateType.Host, c.Type));
    }

    [Fact]
    public async Task Gather_WithStunServer_PeerConnectionAnnouncesServerReflexiveCandidate()
    {
        // A one-shot STUN server on 127.0.0.1 that reports a different mapped port, as a NAT would.
        using var server = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        server.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var serving = Task.Run(async () =>
        {
            var buffer = new byte[1500];
            var received = await server.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0));
            Assert.True(StunMessage.TryParse(buffer.AsSpan(0, received.ReceivedBytes), out var request, out _));
            var client = (IPEndPoint)received.RemoteEndPoint;
            var response = new StunMessage(StunClass.SuccessResponse, StunMethod.Binding, request.TransactionId)
                .AddXorMappedAddress(new IPEndPoint(client.Address, client.Port + 1));
            await server.SendToAsync(response.Encode(fingerprint: true), SocketFlags.None, client);
            return client;
        });
        await using var pc = new Messenger.Transport.PeerConnection(new PeerConnectionOptions
        {
            Ice = Loopback() with
            {
                StunServer = (IPEndPoint)server.LocalEndPoint!,
                StunClient = new StunClientOptions { InitialRto = TimeSpan.FromMilliseconds(50), MaxTransmissions = 3, FinalWaitMultiplier = 2 },
            },
        });
        var candidates = new List<IceCandidate>();
        var complete = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        pc.LocalCandidate += (_, candidate) =>
        {
            if (candidate is null)
            {
                complete.TrySetResult();
            }
            else
            {
                lock (candidates)
                {
                    candidates.Add(candidate);
                }
            }
        };

        pc.SetLocalDescription(pc.CreateOffer());
        await complete.Task.WaitAsync(Wait);
        var client = await serving.WaitAsync(Wait);

        var srflx = Assert.Single(candidates, c => c.Type == IceCandidateType.ServerReflexive);
        Assert.Equal(client.Port + 1, srflx.Port);
        Assert.Equal("127.0.0.1", srflx.RelatedAddress);
        Assert.Equal(pc.LocalEndPoint.Port, srflx.RelatedPort);
    }

    private static (ConnectionLoop Loop, IceEvents Events) Create(IceTransportOptions options)
    {
        var events = new IceEvents();
        var loop = new ConnectionLoop(options, events);
        loop.Start();
        return (loop, events);
    }

    private static async Task ConnectAsync(ConnectionLoop a, IceEvents aEvents, ConnectionLoop b, IceEvents bEvents, Func<IceAgentOptions, IceAgentOptions>? configure = null)
    {
        configure ??= static o => o;
        var aHosts = HostCandidates.GatherHostCandidates(a.LocalEndPoint, includeLoopback: true);
        var bHosts = HostCandidates.GatherHostCandidates(b.LocalEndPoint, includeLoopback: true);
        a.Post((core, now) => core.StartIce(configure(new IceAgentOptions { Controlling = true, LocalUfrag = "ufrA", LocalPwd = "passwordA-0123456789abcdef" }), aHosts, now));
        b.Post((core, now) => core.StartIce(configure(new IceAgentOptions { Controlling = false, LocalUfrag = "ufrB", LocalPwd = "passwordB-0123456789abcdef" }), bHosts, now));
        a.Post((core, now) => core.WithAgent((agent, t) => { agent.SetRemoteCredentials("ufrB", "passwordB-0123456789abcdef", t); agent.AddRemoteCandidate(bHosts[0], t); }, now));
        b.Post((core, now) => core.WithAgent((agent, t) => { agent.SetRemoteCredentials("ufrA", "passwordA-0123456789abcdef", t); agent.AddRemoteCandidate(aHosts[0], t); }, now));
        await aEvents.WaitForAsync(IceConnectionState.Connected, IceConnectionState.Completed);
        await bEvents.WaitForAsync(IceConnectionState.Connected, IceConnectionState.Completed);
    }

    private static Task<T> OnLoopAsync<T>(ConnectionLoop loop, Func<ConnectionCore, T> read)
    {
        var result = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        loop.Post((core, _) => result.TrySetResult(read(core)));
        return result.Task.WaitAsync(Wait);
    }

    /// <summary>The ICE states a loop reported, and a wait for one.</summary>
    private sealed class IceEvents : IConnectionEvents
    {

        private readonly List<IceConnectionState> _states = [];
        private readonly Lock _gate = new();
        private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task WaitForAsync(params IceConnectionState[] states)
        {
            using var timeout = new CancellationTokenSource(Wait);
            while (true)
            {
                Task changed;
                lock (_gate)
                {
                    if (_states.Exists(states.Contains))
                    {
                        return;
                    }

                    changed = _changed.Task;
                }

                await changed.WaitAsync(timeout.Token);
            }
        }

        public void OnIceStateChanged(IceConnectionState state)
        {
            lock (_gate)
            {
                _states.Add(state);
                _changed.TrySetResult();
                _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }

        public void OnDtlsClosed(DtlsException? error)
        {
        }

        public void OnStunResponse(StunMessage message)
        {
        }
    }
}
