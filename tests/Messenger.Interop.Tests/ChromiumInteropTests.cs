using Xunit.Abstractions;

namespace Messenger.Interop.Tests;

/// <summary>
/// Our PeerConnection against headless Debian Chromium (peers/chromium/peer.html through Playwright), both ways
/// round: the shared scenario (text, echo, a message at the remote's max-message-size, 64 MiB each way, clean close).
/// </summary>
[Collection(InteropCollection.Name)]
public sealed class ChromiumInteropTests(ChromiumFixture chromium, ITestOutputHelper output) : IClassFixture<ChromiumFixture>
{
    [Fact]
    public async Task Messenger_offers_chromium_answers()
    {
        output.WriteLine($"chromium {chromium.Version}");
        await using var peer = await ChromiumRemotePeer.StartAsync(chromium.Browser, output);
        await InteropScenario.RunAsync(peer, messengerOffers: true, output);
    }

    [Fact]
    public async Task Chromium_offers_messenger_answers()
    {
        output.WriteLine($"chromium {chromium.Version}");
        await using var peer = await ChromiumRemotePeer.StartAsync(chromium.Browser, output);
        await InteropScenario.RunAsync(peer, messengerOffers: false, output);
    }
}
