using MessagePack;
using Messenger.Contracts.Channels;
using Messenger.Contracts.Framing;
using Messenger.Host.Framing;
using Messenger.Host.Sessions;
using Messenger.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Messenger.Host.Tests;

public class ReceiveLimitTests
{
    [Fact]
    public async Task PeerWithSmallerReceiveLimit_StillGetsOurLargerFrames_BecauseItsLimitBoundsOnlyWhatWeSend()
    {
        // Chrome accepts 64 KiB; we accept 256 KiB. The peer may send us up to our limit.
        await using var pair = InMemoryChannelPair.Create();
        var handler = new RecordingHandler("big", 10);
        var small = new PeerLimitedChannel(pair.B, 64 * 1024);
        var sender = new PeerSession(pair.A, "b", new FrameRouter([]), [], new FramingOptions(), NullLogger.Instance);
        var receiver = new PeerSession(small, "a", new FrameRouter([handler]), [], new FramingOptions(), NullLogger.Instance);
        await sender.StartAsync(CancellationToken.None);
        await receiver.StartAsync(CancellationToken.None);
        var running = receiver.RunAsync(CancellationToken.None);

        await sender.SendAsync(new FrameKind(10), MessagePackSerializer.Serialize(new byte[200_000]));

        Assert.Equal(200_000, MessagePackSerializer.Deserialize<byte[]>((await handler.NextAsync()).Body).Length);
        Assert.Equal(0, receiver.Statistics.Malformed);
        Assert.True(receiver.MaxFrameBodySize < 64 * 1024);
        pair.Disconnect();
        await running.WaitAsync(TimeSpan.FromSeconds(10));
    }

    /// <summary>A channel whose peer accepts only <paramref name="limit"/> bytes per message.</summary>
    private sealed class PeerLimitedChannel(IDataChannel inner, int limit) : IDataChannel
    {
        public event EventHandler<DataChannelState>? StateChanged
        {
            add => inner.StateChanged += value;
            remove => inner.StateChanged -= value;
        }

        public string Label => inner.Label;

        public DataChannelState State => inner.State;

        public int MaxMessageSize => limit;

        public long BufferedAmount => inner.BufferedAmount;

        public long BufferedAmountLowThreshold { get => inner.BufferedAmountLowThreshold; set => inner.BufferedAmountLowThreshold = value; }

        public void Send(ReadOnlySpan<byte> data) => inner.Send(data);

        public void SendText(string text) => inner.SendText(text);

        public ValueTask WaitForBufferedAmountLowAsync(CancellationToken cancellationToken = default) => inner.WaitForBufferedAmountLowAsync(cancellationToken);

        public IAsyncEnumerable<DataChannelMessage> ReceiveAllAsync(CancellationToken cancellationToken = default) => inner.ReceiveAllAsync(cancellationToken);

        public ValueTask CloseAsync(CancellationToken cancellationToken = default) => inner.CloseAsync(cancellationToken);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
