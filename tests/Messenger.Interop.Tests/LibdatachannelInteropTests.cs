using System.ComponentModel;
using Messenger.TestSupport;
using Xunit.Abstractions;

namespace Messenger.Interop.Tests;

/// <summary>
/// Our PeerConnection against libdatachannel (the C++ stack: usrsctp, libjuice, OpenSSL) through npm
/// <c>node-datachannel</c>, run by peers/libdatachannel/peer.mjs; <c>build.sh</c> installs its node_modules before
/// the suite enters the loopback-only namespace.
/// </summary>
[Collection(InteropCollection.Name)]
public sealed class LibdatachannelInteropTests(ITestOutputHelper output)
{
    private static string PeerFolder => Path.Combine(RepoPaths.RepoRoot, "tests", "Messenger.Interop.Tests", "peers", "libdatachannel");

    [Fact]
    public async Task Messenger_offers_libdatachannel_answers()
    {
        await using var libdatachannel = await StartPeerAsync();
        var result = await InteropScenario.RunAsync(libdatachannel, messengerOffers: true, output);
        Assert.True(result.MessengerOffered);
    }

    [Fact]
    public async Task Libdatachannel_offers_messenger_answers()
    {
        await using var libdatachannel = await StartPeerAsync();
        var result = await InteropScenario.RunAsync(libdatachannel, messengerOffers: false, output);
        Assert.False(result.MessengerOffered);
    }

    /// <summary>Starts peer.mjs and waits for its "ready" (node has loaded the native addon), so setup times exclude node's start-up.</summary>
    private async Task<ProcessRemotePeer> StartPeerAsync()
    {
        var folder = PeerFolder;
        Assert.True(
            Directory.Exists(Path.Combine(folder, "node_modules", "node-datachannel")),
            $"node-datachannel is not installed in {folder}: run `bash build.sh test`, or `npm ci --prefix {folder}`.");
        ProcessRemotePeer peer;
        try
        {
            peer = ProcessRemotePeer.Start("libdatachannel", "node", [Path.Combine(folder, "peer.mjs")], output, folder);
        }
        catch (Win32Exception ex)
        {
            Assert.Fail($"node could not be started ({ex.Message}): install it (apt-get install nodejs npm, or `bash build.sh test`), then `npm ci --prefix {folder}`.");
            throw;
        }

        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await using var messages = peer.ReadAllAsync(timeout.Token).GetAsyncEnumerator(timeout.Token);
            Assert.True(await messages.MoveNextAsync(), "the libdatachannel peer exited before it was ready (is node on PATH?)");
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
