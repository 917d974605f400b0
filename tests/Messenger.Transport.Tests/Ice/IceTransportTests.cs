using System.Net;
using System.Net.Sockets;
using Messenger.Transport.Ice;
using Messenger.Transport.Stun;

namespace Messenger.Transport.Tests.Ice;

/// <summary>Two ICE transports over real UDP on 127.0.0.1.</summary>
[Collection(Messenger.Transport.Tests.PeerConnection.PeerConnectionCollection.Name)]
public class IceTransportTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private static IceTransportOptions Loopback(IPEndPoint? stunServer = null) => new()
    {
        BindAddress = IPAddress.Loopback,
        StunServer = stunServer,
        StunClient = new StunClientOptions { InitialRto = TimeSpan.FromMilliseconds(50), MaxTransmissions = 3, FinalWaitMultiplier = 2 },
    };

    private static Task WaitForStateAsync(IceTransport transport, params IceConnectionState[] states)
    {
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        transport.StateChanged += state =>
        {
            if (states.Contains(state))
            {
                reached.TrySetResult();
            }
        };
        if (states.Contains(transport.State))
        {
            reached.TrySetResult();
        }

        return reached.Task.WaitAsync(Wait);
    }

    [Fact]
    public async Task Connect_OverLoopbackUdp_SelectsEachOthersSocketAndCarriesData()
    {
        await using var a = new IceTransport("ufrA", "passwordA-0123456789abcdef", Loopback());
        await using var b = new IceTransport("ufrB", "passwordB-0123456789abcdef", Loopback());
        var bGotData = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        b.DataReceived += datagram => bGotData.TrySetResult(datagram.ToArray());
        var aConnected = WaitForStateAsync(a, IceConnectionState.Connected, IceConnectionState.Completed);
        var bConnected = WaitForStateAsync(b, IceConnectionState.Connected, IceConnectionState.Completed);

        a.Start(controlling: true);
        b.Start(controlling: false);
        a.SetRemoteCredentials("ufrB", "passwordB-0123456789abcdef");
        b.SetRemoteCredentials("ufrA", "passwordA-0123456789abcdef");
        a.AddRemoteCandidate(Assert.Single(b.HostCandidates));
        b.AddRemoteCandidate(Assert.Single(a.HostCandidates));
        await Task.WhenAll(aConnected, bConnected);

        Assert.Equal(b.LocalEndPoint, a.SelectedRemote);
        Assert.Equal(a.LocalEndPoint, b.SelectedRemote);
        a.Send([22, 254, 253, 1]); // a DTLS-looking first byte (RFC 7983: 20–63)
        Assert.Equal(new byte[] { 22, 254, 253, 1 }, await bGotData.Task.WaitAsync(Wait));
    }

    [Fact]
    public async Task Receive_DtlsFromUnvalidatedAddress_IsDropped()
    {
        await using var a = new IceTransport("ufrA", "passwordA-0123456789abcdef", Loopback());
        await using var b = new IceTransport("ufrB", "passwordB-0123456789abcdef", Loopback());
        using var stranger = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        stranger.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var received = new List<byte[]>();
        var fromA = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        b.DataReceived += datagram =>
        {
            lock (received)
            {
                received.Add(datagram.ToArray());
            }

            if (datagram[1] == 0xAA)
            {
                fromA.TrySetResult();
            }
        };
        var connected = WaitForStateAsync(b, IceConnectionState.Connected, IceConnectionState.Completed);
        a.Start(controlling: true);
        b.Start(controlling: false);
        a.SetRemoteCredentials("ufrB", "passwordB-0123456789abcdef");
        b.SetRemoteCredentials("ufrA", "passwordA-0123456789abcdef");
        a.AddRemoteCandidate(b.HostCandidates[0]);
        b.AddRemoteCandidate(a.HostCandidates[0]);
        await connected;
        await WaitForStateAsync(a, IceConnectionState.Connected, IceConnectionState.Completed);

        await stranger.SendToAsync(new byte[] { 22, 0xBB }, SocketFlags.None, b.LocalEndPoint);
        a.Send([22, 0xAA]);
        await fromA.Task.WaitAsync(Wait);

        lock (received)
        {
            Assert.Equal(new byte[] { 22, 0xAA }, Assert.Single(received));
        }
    }

    [Fact]
    public async Task Consent_PeerSocketCloses_DisconnectedThenFailedOnRealTimers()
    {
        var fast = Loopback() with
        {
            ConfigureAgent = o => o with { ConsentInterval = TimeSpan.FromMilliseconds(200), DisconnectedTimeout = TimeSpan.FromMilliseconds(800), ConsentTimeout = TimeSpan.FromSeconds(2) },
        };
        await using var a = new IceTransport("ufrA", "passwordA-0123456789abcdef", fast);
        var b = new IceTransport("ufrB", "passwordB-0123456789abcdef", fast);
        var connected = WaitForStateAsync(a, IceConnectionState.Connected, IceConnectionState.Completed);
        a.Start(controlling: true);
        b.Start(controlling: false);
        a.SetRemoteCredentials("ufrB", "passwordB-0123456789abcdef");
        b.SetRemoteCredentials("ufrA", "passwordA-0123456789abcdef");
        a.AddRemoteCandidate(b.HostCandidates[0]);
        b.AddRemoteCandidate(a.HostCandidates[0]);
        await connected;
        var disconnected = WaitForStateAsync(a, IceConnectionState.Disconnected);
        var failed = WaitForStateAsync(a, IceConnectionState.Failed);

        await b.DisposeAsync(); // vanishes without a word, as a crashed peer or a lost network does
        await disconnected;
        await failed;

        Assert.Null(a.SelectedRemote);
        Assert.Contains("Consent expired", a.FailureReason, StringComparison.Ordinal);
    }

    [Fact]
    public void HostCandidates_BoundToAny_SkipLoopbackByDefault()
    {
        var withoutLoopback = IceTransport.GatherHostCandidates(new IPEndPoint(IPAddress.Any, 5000), includeLoopback: false);
        var withLoopback = IceTransport.GatherHostCandidates(new IPEndPoint(IPAddress.Any, 5000), includeLoopback: true);

        Assert.DoesNotContain(withoutLoopback, c => c.Address == "127.0.0.1");
        Assert.Contains(withLoopback, c => c.Address == "127.0.0.1");
        Assert.All(withLoopback, c => Assert.Equal(IceCandidateType.Host, c.Type));
    }

    [Fact]
    public async Task Gather_WithStunServer_AnnouncesServerReflexiveCandidate()
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
        await using var a = new IceTransport("ufrA", "passwordA-0123456789abcdef", Loopback((IPEndPoint)server.LocalEndPoint!));
        var candidates = new List<IceCandidate>();
        var complete = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        a.LocalCandidate += candidate =>
        {
            if (candidate is null)
            {
                complete.TrySetResult();
            }
            else
            {
                candidates.Add(candidate);
            }
        };

        a.Start(controlling: true);
        await complete.Task.WaitAsync(Wait);
        var client = await serving.WaitAsync(Wait);

        var srflx = Assert.Single(candidates, c => c.Type == IceCandidateType.ServerReflexive);
        Assert.Equal(client.Port + 1, srflx.Port);
        Assert.Equal("127.0.0.1", srflx.RelatedAddress);
        Assert.Equal(a.LocalEndPoint.Port, srflx.RelatedPort);
    }
}
