using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Messenger.Transport.Signaling;

namespace Messenger.Transport.Tests.Signaling;

public class SignalingRelayTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task TwoPeersInARoom_ExchangeLines_AndLearnWhenTheOtherJoinsAndLeaves()
    {
        await using var relay = StartRelay();
        await using var alice = await TestPeer.ConnectAsync(relay.EndPoint);
        await using var bob = await TestPeer.ConnectAsync(relay.EndPoint);

        await alice.SendAsync("""{"type":"join","room":"kitchen"}""");
        Assert.Equal(1, (int)(await alice.NextAsync())["peers"]!);
        await bob.SendAsync("""{"type":"join","room":"kitchen"}""");
        Assert.Equal(2, (int)(await bob.NextAsync())["peers"]!);
        Assert.Equal("peer-joined", (string?)(await alice.NextAsync())["type"]);

        await alice.SendAsync("""{"type":"offer","sdp":"v=0\r\n..."}""");
        var offer = await bob.NextAsync();
        Assert.Equal("offer", (string?)offer["type"]);
        Assert.Equal("v=0\r\n...", (string?)offer["sdp"]);
        await bob.SendAsync("""{"type":"answer","sdp":"v=0"}""");
        Assert.Equal("answer", (string?)(await alice.NextAsync())["type"]);

        await bob.DisposeAsync();
        Assert.Equal("peer-left", (string?)(await alice.NextAsync())["type"]);
    }

    [Fact]
    public async Task ThirdPeer_IsRefused_RoomsAreSeparate()
    {
        await using var relay = StartRelay();
        await using var a = await TestPeer.ConnectAsync(relay.EndPoint);
        await using var b = await TestPeer.ConnectAsync(relay.EndPoint);
        await using var c = await TestPeer.ConnectAsync(relay.EndPoint);
        await using var elsewhere = await TestPeer.ConnectAsync(relay.EndPoint);
        await a.SendAsync("""{"type":"join","room":"r"}""");
        await a.NextAsync();
        await b.SendAsync("""{"type":"join","room":"r"}""");
        await b.NextAsync();

        await c.SendAsync("""{"type":"join","room":"r"}""");
        var refused = await c.NextAsync();
        Assert.Equal("error", (string?)refused["type"]);
        Assert.Contains("already has two peers", (string?)refused["message"], StringComparison.Ordinal);

        await elsewhere.SendAsync("""{"type":"join","room":"other"}""");
        Assert.Equal(1, (int)(await elsewhere.NextAsync())["peers"]!);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[1,2]")]
    [InlineData("""{"type":"offer"}""")]
    [InlineData("""{"type":"join","room":""}""")]
    [InlineData("""{"type":"join","room":5}""")]
    [InlineData("null")]
    [InlineData("""{"type":"join","type":"join","room":"r"}""")] // found by fuzzing: an ArgumentException, no error line
    public async Task BadFirstLine_GetsAnErrorAndTheConnectionCloses(string line)
    {
        await using var relay = StartRelay();
        await using var peer = await TestPeer.ConnectAsync(relay.EndPoint);

        await peer.SendAsync(line);

        Assert.Equal("error", (string?)(await peer.NextAsync())["type"]);
        Assert.True(await peer.IsClosedAsync());
    }

    [Fact]
    public async Task OverlongLine_GetsAnErrorAndTheConnectionCloses()
    {
        await using var relay = StartRelay();
        await using var peer = await TestPeer.ConnectAsync(relay.EndPoint);

        await peer.SendRawAsync(Encoding.UTF8.GetBytes(new string('x', SignalingRelay.MaxLineBytes + 10)));

        var error = await peer.NextAsync();
        Assert.Contains("longer than", (string?)error["message"], StringComparison.Ordinal);
        Assert.True(await peer.IsClosedAsync());
    }

    private static SignalingRelay StartRelay()
    {
        var relay = new SignalingRelay(new IPEndPoint(IPAddress.Loopback, 0));
        relay.Start();
        return relay;
    }

    private sealed class TestPeer : IAsyncDisposable
    {
        private readonly TcpClient _client;
        private readonly IAsyncEnumerator<string> _lines;

        private TestPeer(TcpClient client)
        {
            _client = client;
            _lines = SignalingLines.ReadAsync(client.GetStream(), CancellationToken.None).GetAsyncEnumerator();
        }

        public static async Task<TestPeer> ConnectAsync(IPEndPoint relay)
        {
            var client = new TcpClient();
            await client.ConnectAsync(relay).WaitAsync(Wait);
            return new TestPeer(client);
        }

        public Task SendAsync(string line) => SendRawAsync(Encoding.UTF8.GetBytes(line + "\n"));

        public async Task SendRawAsync(byte[] bytes) => await _client.GetStream().WriteAsync(bytes).AsTask().WaitAsync(Wait);

        public async Task<JsonObject> NextAsync()
        {
            Assert.True(await _lines.MoveNextAsync().AsTask().WaitAsync(Wait), "the relay closed the connection");
            return JsonNode.Parse(_lines.Current)!.AsObject();
        }

        public async Task<bool> IsClosedAsync() => !await _lines.MoveNextAsync().AsTask().WaitAsync(Wait);

        public async ValueTask DisposeAsync()
        {
            _client.Dispose();
            try
            {
                await _lines.DisposeAsync();
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException)
            {
                // Already closed.
            }
        }
    }
}
