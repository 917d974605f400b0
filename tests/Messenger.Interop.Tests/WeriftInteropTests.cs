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
        await using var werift = StartPeer();
        var result = await InteropScenario.RunAsync(werift, messengerOffers: true, output);
        Assert.True(result.MessengerOffered);
    }

    [Fact]
    public async Task Werift_offers_messenger_answers()
    {
        await using var werift = StartPeer();
        var result = await InteropScenario.RunAsync(werift, messengerOffers: false, output);
        Assert.False(result.MessengerOffered);
    }

    private ProcessRemotePeer StartPeer()
    {
        var folder = PeerFolder;
        Assert.True(
            Directory.Exists(Path.Combine(folder, "node_modules", "werift")),
            $"werift is not installed in {folder}: run `bash build.sh test`, or `npm ci --prefix {folder}`.");
        return ProcessRemotePeer.Start("werift", "node", [Path.Combine(folder, "peer.mjs")], output, folder);
    }
}
