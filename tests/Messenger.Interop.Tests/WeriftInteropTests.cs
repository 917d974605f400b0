using Messenger.TestSupport;
using Xunit.Abstractions;

namespace Messenger.Interop.Tests;

/// <summary>
/// Our PeerConnection against werift (npm <c>werift</c>, a TypeScript WebRTC stack) run by peers/werift/peer.mjs;
/// <c>build.sh</c> installs its node_modules before the suite enters the loopback-only namespace.
/// </summary>
[Collection(InteropCollection.Name)]
public sealed class WeriftInteropTests(ITestOutputHelper output)
{
    private static string PeerFolder => Path.Combine(RepoPaths.RepoRoot, "tests", "Messenger.Interop.Tests", "peers", "werift");

    [Fact]
    public async Task Messenger_offers_werift_answers()
    {
        await using var werift = await StartPeerAsync();
        var result = await InteropScenario.RunAsync(werift, messengerOffers: true, output);
        Assert.True(result.MessengerOffered);
    }

    [Fact]
    public async Task Werift_offers_messenger_answers()
    {
        await using var werift = await StartPeerAsync();
        var result = await InteropScenario.RunAsync(werift, messengerOffers: false, output);
        Assert.False(result.MessengerOffered);
    }

    /// <summary>Starts peer.mjs and waits for its "ready" (node has loaded werift), so setup times exclude node's start-up.</summary>
    private async Task<ProcessRemotePeer> StartPeerAsync()
    {
        var folder = PeerFolder;
        Assert.True(
            Directory.Exists(Path.Combine(folder, "node_modules", "werift")),
            $"werift is not installed in {folder}: run `bash build.sh test`, or `npm ci --prefix {folder}`.");
        var peer = ProcessRemotePeer.Start("werift", "node", [Path.Combine(folder, "peer.mjs")], output, folder);
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await using var messages = peer.ReadAllAsync(timeout.Token).GetAsyncEnumerator(timeout.Token);
            Assert.True(await messages.MoveNextAsync(), "the werift peer exited before it was ready (is node on PATH?)");
            Assert.Equal("ready", (string?)messages.Current["type"]);
            return peer;
        }
        catch
        {
            await peer.DisposeAsync();
            throw;
        }
    }
}
