using Messenger.TestSupport;
using Xunit.Abstractions;

namespace Messenger.Interop.Tests;

/// <summary>
/// Our PeerConnection against aiortc 1.4 (Debian <c>python3-aiortc</c>, a Python WebRTC stack) run by
/// peers/aiortc/peer.py under the system Python (<c>/usr/bin/python3</c>; a pyenv <c>python3</c> lacks the package).
/// aiortc moves data at a few MB/s, so the 64 MiB legs take tens of seconds each.
/// </summary>
[Collection(InteropCollection.Name)]
public sealed class AiortcInteropTests(ITestOutputHelper output)
{
    private const string Python = "/usr/bin/python3";

    private static string PeerScript => Path.Combine(RepoPaths.RepoRoot, "tests", "Messenger.Interop.Tests", "peers", "aiortc", "peer.py");

    [Fact]
    public async Task Messenger_offers_aiortc_answers()
    {
        await using var aiortc = StartPeer();
        var result = await InteropScenario.RunAsync(aiortc, messengerOffers: true, output);
        Assert.True(result.MessengerOffered);
    }

    [Fact]
    public async Task Aiortc_offers_messenger_answers()
    {
        await using var aiortc = StartPeer();
        var result = await InteropScenario.RunAsync(aiortc, messengerOffers: false, output);
        Assert.False(result.MessengerOffered);
    }

    private ProcessRemotePeer StartPeer()
    {
        Assert.True(File.Exists(Python), $"{Python} is missing: the aiortc peer needs the system Python with python3-aiortc (apt-get install python3-aiortc).");
        return ProcessRemotePeer.Start("aiortc", Python, [PeerScript], output);
    }
}
