namespace Messenger.Transport.Tests.PeerConnection;

/// <summary>The process warm-up the CLI starts while it waits for its peer: a real connection over loopback, once.</summary>
[Collection(PeerConnectionCollection.Name)]
public class TransportWarmUpTests
{
    [Fact]
    public async Task WarmUp_ConnectsOnceOverLoopback_AndLaterCallsShareIt()
    {
        var first = TransportWarmUp.RunAsync();
        Assert.Same(first, TransportWarmUp.RunAsync());

        // True only when both in-process peers connected, opened a channel and exchanged messages both ways.
        Assert.True(await first.WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.Same(first, TransportWarmUp.RunAsync());
    }
}
