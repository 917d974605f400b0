using System.Net;
using System.Net.Sockets;
using System.Text;
using Messenger.Transport.Ice;
using Messenger.Transport.Sdp;
using Messenger.Transport.Signaling;

namespace Messenger.Transport.Tests.Signaling;

public class SignalingClientTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task JoinAsync_SecondPeerOffers_DescriptionsAndCandidatesCross()
    {
        await using var relay = StartRelay();
        await using var first = await JoinAsync(relay, "kitchen");
        await using var second = await JoinAsync(relay, "kitchen");
        await using var connection = new Messenger.Transport.PeerConnection();
        var offer = connection.CreateOffer();

        Assert.False(first.IsOfferer);
        Assert.True(second.IsOfferer);
        Assert.IsType<SignalingMessage.PeerJoined>(await first.ReceiveAsync(CancellationToken.None).WaitAsync(Wait));
        await second.SendDescriptionAsync(offer, CancellationToken.None);
        var candidate = IceCandidate.Parse("candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host");
        await second.SendCandidateAsync(candidate, CancellationToken.None);
        await second.SendCandidateAsync(null, CancellationToken.None);

        var received = Assert.IsType<SignalingMessage.Description>(await first.ReceiveAsync(CancellationToken.None).WaitAsync(Wait));
        Assert.Equal(SdpType.Offer, received.Value.Type);
        Assert.Equal(offer.Fingerprint, received.Value.Fingerprint);
        Assert.Equal(offer.IceUfrag, received.Value.IceUfrag);
        var trickled = Assert.IsType<SignalingMessage.Candidate>(await first.ReceiveAsync(CancellationToken.None).WaitAsync(Wait));
        Assert.Equal(candidate.ToString(), trickled.Value?.ToString());
        Assert.Null(Assert.IsType<SignalingMessage.Candidate>(await first.ReceiveAsync(CancellationToken.None).WaitAsync(Wait)).Value);
    }

    [Fact]
    public async Task ReceiveAsync_OtherPeerLeaves_SaysSo()
    {
        await using var relay = StartRelay();
        await using var first = await JoinAsync(relay, "r");
        var second = await JoinAsync(relay, "r");
        Assert.IsType<SignalingMessage.PeerJoined>(await first.ReceiveAsync(CancellationToken.None).WaitAsync(Wait));

        await second.DisposeAsync();

        Assert.IsType<SignalingMessage.PeerLeft>(await first.ReceiveAsync(CancellationToken.None).WaitAsync(Wait));
    }

    [Fact]
    public async Task JoinAsync_FullRoom_ThrowsWithTheRelaysReason()
    {
        await using var relay = StartRelay();
        await using var a = await JoinAsync(relay, "r");
        await using var b = await JoinAsync(relay, "r");

        var error = await Assert.ThrowsAsync<SignalingException>(() => JoinAsync(relay, "r"));

        Assert.Contains("already has two peers", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task JoinAsync_NoRelayListening_ThrowsSayingWhere()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var error = await Assert.ThrowsAsync<SignalingException>(() => SignalingClient.JoinAsync("127.0.0.1", port, "r", CancellationToken.None).WaitAsync(Wait));

        Assert.Contains($"127.0.0.1:{port}", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("a\nb")]
    [InlineData("0123456789012345678901234567890123456789012345678901234567890123456789")]
    public async Task JoinAsync_BadRoomName_ThrowsBeforeConnecting(string room)
    {
        var error = await Assert.ThrowsAsync<SignalingException>(() => SignalingClient.JoinAsync("127.0.0.1", 9, room, CancellationToken.None));

        Assert.Contains("room", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"type":"joined","room":"r","peers":1}""" + "\nnot json\n", "not UTF-8 JSON")]
    [InlineData("""{"type":"joined","room":"r","peers":1}""" + "\n" + """{"type":"offer","sdp":"v=0 garbage"}""" + "\n", "unusable 'offer'")]
    [InlineData("""{"type":"joined","room":"r","peers":1}""" + "\n" + """{"type":"candidate","candidate":42}""" + "\n", "unusable 'candidate'")]
    [InlineData("""{"type":"joined","room":"r","peers":1}""" + "\n" + """{"type":"error","message":"boom"}""" + "\n", "boom")]
    public async Task ReceiveAsync_HostileLine_ThrowsATypedError(string script, string expected)
    {
        await using var fake = await FakeRelay.StartAsync(Encoding.UTF8.GetBytes(script));
        await using var client = await SignalingClient.JoinAsync("127.0.0.1", fake.Port, "r", CancellationToken.None).WaitAsync(Wait);

        var error = await Assert.ThrowsAsync<SignalingException>(() => client.ReceiveAsync(CancellationToken.None).WaitAsync(Wait));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReceiveAsync_EndlessLine_StopsAtTheLimit()
    {
        var script = Encoding.UTF8.GetBytes("""{"type":"joined","room":"r","peers":1}""" + "\n" + new string('x', SignalingRelay.MaxLineBytes + 9000));
        await using var fake = await FakeRelay.StartAsync(script);
        await using var client = await SignalingClient.JoinAsync("127.0.0.1", fake.Port, "r", CancellationToken.None).WaitAsync(Wait);

        var error = await Assert.ThrowsAsync<SignalingException>(() => client.ReceiveAsync(CancellationToken.None).WaitAsync(Wait));

        Assert.Contains("longer than", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("7")]
    [InlineData("1.5")]
    [InlineData("1e20")]
    [InlineData("\"2\"")]
    [InlineData("null")]
    public async Task JoinAsync_RelayAnswersSomethingElse_Throws(string peers)
    {
        await using var fake = await FakeRelay.StartAsync(Encoding.UTF8.GetBytes($$"""{"type":"joined","room":"r","peers":{{peers}}}""" + "\n"));

        var error = await Assert.ThrowsAsync<SignalingException>(() => SignalingClient.JoinAsync("127.0.0.1", fake.Port, "r", CancellationToken.None).WaitAsync(Wait));

        Assert.Contains("malformed 'joined'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task JoinAsync_OtherPeersLinesArriveBeforeOurJoined_StillJoins_AndKeepsThemInOrder()
    {
        // Both peers joining at once: the relay may forward the other's arrival, even its first lines, before confirming ours.
        var script = """{"type":"peer-joined"}""" + "\n" + """{"type":"candidate","candidate":null}""" + "\n" + """{"type":"joined","room":"r","peers":1}""" + "\n" + """{"type":"peer-left"}""" + "\n";
        await using var fake = await FakeRelay.StartAsync(Encoding.UTF8.GetBytes(script));

        await using var client = await SignalingClient.JoinAsync("127.0.0.1", fake.Port, "r", CancellationToken.None).WaitAsync(Wait);

        Assert.False(client.IsOfferer);
        Assert.IsType<SignalingMessage.PeerJoined>(await client.ReceiveAsync(CancellationToken.None).WaitAsync(Wait));
        Assert.IsType<SignalingMessage.Candidate>(await client.ReceiveAsync(CancellationToken.None).WaitAsync(Wait));
        Assert.IsType<SignalingMessage.PeerLeft>(await client.ReceiveAsync(CancellationToken.None).WaitAsync(Wait));
    }

    [Fact]
    public async Task JoinAsync_RelayNeverConfirms_StopsAfterABoundedNumberOfLines()
    {
        var script = string.Concat(Enumerable.Repeat("""{"type":"peer-joined"}""" + "\n", 100));
        await using var fake = await FakeRelay.StartAsync(Encoding.UTF8.GetBytes(script));

        var error = await Assert.ThrowsAsync<SignalingException>(() => SignalingClient.JoinAsync("127.0.0.1", fake.Port, "r", CancellationToken.None).WaitAsync(Wait));

        Assert.Contains("without confirming the join", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReceiveAsync_Cancelled_ThrowsOperationCanceled()
    {
        await using var relay = StartRelay();
        await using var client = await JoinAsync(relay, "quiet");
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.ReceiveAsync(cancel.Token).WaitAsync(Wait));
    }

    [Fact]
    public async Task SendDescriptionAsync_OverTheLineLimit_ThrowsBeforeSending()
    {
        await using var relay = StartRelay();
        await using var client = await JoinAsync(relay, "big");
        await using var connection = new Messenger.Transport.PeerConnection();
        var offer = connection.CreateOffer();
        var huge = offer with { Candidates = Enumerable.Repeat(IceCandidate.Parse("candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host"), 2000).ToArray() };

        var error = await Assert.ThrowsAsync<SignalingException>(() => client.SendDescriptionAsync(huge, CancellationToken.None));

        Assert.Contains("line limit", error.Message, StringComparison.Ordinal);
    }

    private static SignalingRelay StartRelay()
    {
        var relay = new SignalingRelay(new IPEndPoint(IPAddress.Loopback, 0));
        relay.Start();
        return relay;
    }

    private static Task<SignalingClient> JoinAsync(SignalingRelay relay, string room) =>
        SignalingClient.JoinAsync("127.0.0.1", relay.EndPoint.Port, room, CancellationToken.None).WaitAsync(Wait);

    /// <summary>A relay that answers the join with a fixed script of bytes, to feed the client hostile input.</summary>
    private sealed class FakeRelay : IAsyncDisposable
    {
        private readonly TcpListener _listener;
        private readonly CancellationTokenSource _stop;
        private readonly Task _serving;

        private FakeRelay(TcpListener listener, CancellationTokenSource stop, Task serving)
        {
            _listener = listener;
            _stop = stop;
            _serving = serving;
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public static Task<FakeRelay> StartAsync(byte[] script)
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var stop = new CancellationTokenSource();
            var serving = Task.Run(async () =>
            {
                using var client = await listener.AcceptTcpClientAsync();
                var stream = client.GetStream();
                var buffer = new byte[1024];
                var read = 0;
                while (read == 0 || buffer[read - 1] != (byte)'\n')
                {
                    read += await stream.ReadAsync(buffer.AsMemory(read));
                }

                await stream.WriteAsync(script);
                await Task.Delay(Wait, stop.Token).ContinueWith(static _ => { }, TaskScheduler.Default); // open until disposed
            });
            return Task.FromResult(new FakeRelay(listener, stop, serving));
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            await _serving.WaitAsync(Wait);
            _stop.Dispose();
        }
    }
}
