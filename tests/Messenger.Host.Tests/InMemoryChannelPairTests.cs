using Messenger.Contracts.Channels;
using Messenger.TestSupport;

namespace Messenger.Host.Tests;

public class InMemoryChannelPairTests
{
    private static async Task<List<byte>> ReceiveFirstBytesAsync(IDataChannel channel, int count)
    {
        var firsts = new List<byte>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await foreach (var message in channel.ReceiveAllAsync(timeout.Token))
        {
            firsts.Add(message.Data.Span[0]);
            if (firsts.Count == count)
            {
                break;
            }
        }

        return firsts;
    }

    [Fact]
    public async Task Messages_ArriveInOrder_WithTextFlag()
    {
        await using var pair = InMemoryChannelPair.Create();
        pair.A.Send([1, 2, 3]);
        pair.A.SendText("hi");

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var received = new List<DataChannelMessage>();
        await foreach (var message in pair.B.ReceiveAllAsync(timeout.Token))
        {
            received.Add(message);
            if (received.Count == 2)
            {
                break;
            }
        }

        Assert.Equal([1, 2, 3], received[0].Data.ToArray());
        Assert.False(received[0].IsText);
        Assert.True(received[1].IsText);
    }

    [Fact]
    public async Task BufferedAmount_GrowsWithSends_AndTheLowSignalFiresWhenDrained()
    {
        await using var pair = InMemoryChannelPair.Create(new InMemoryChannelOptions { BandwidthBytesPerSecond = 1_000_000 });
        pair.A.BufferedAmountLowThreshold = 10_000;
        for (var i = 0; i < 10; i++)
        {
            pair.A.Send(new byte[10_000]);
        }

        Assert.True(pair.A.BufferedAmount > 10_000);
        var low = pair.A.WaitForBufferedAmountLowAsync().AsTask();
        Assert.False(low.IsCompleted);
        _ = ReceiveFirstBytesAsync(pair.B, 10);
        await low.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(pair.A.BufferedAmount <= 10_000);
    }

    [Fact]
    public async Task UnreadReceiver_StopsTheLink_SoBufferedAmountStaysHigh()
    {
        await using var pair = InMemoryChannelPair.Create(new InMemoryChannelOptions { ReceiveQueueCapacity = 4 });
        for (var i = 0; i < 20; i++)
        {
            pair.A.Send(new byte[1000]);
        }

        // Only the receive queue and what is on the wire (4 + 4 + 1 in hand) can leave while B reads nothing.
        var low = pair.A.WaitForBufferedAmountLowAsync().AsTask();
        await Task.WhenAny(low, Task.Delay(200));
        Assert.False(low.IsCompleted);
        Assert.True(pair.A.BufferedAmount >= 10 * 1000, $"buffered {pair.A.BufferedAmount}");
    }

    [Fact]
    public async Task LossAndReorder_AreReproducibleFromTheSeed()
    {
        async Task<List<byte>> RunAsync(int seed)
        {
            await using var pair = InMemoryChannelPair.Create(new InMemoryChannelOptions { LossRate = 0.2, ReorderRate = 0.2, Seed = seed });
            for (var i = 0; i < 200; i++)
            {
                pair.A.Send([(byte)i]);
            }

            var got = new List<byte>();
            var reading = Task.Run(async () =>
            {
                await foreach (var message in pair.B.ReceiveAllAsync())
                {
                    got.Add(message.Data.Span[0]);
                }
            });
            await pair.A.CloseAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            await reading.WaitAsync(TimeSpan.FromSeconds(10));
            return got;
        }

        var first = await RunAsync(7);
        var again = await RunAsync(7);
        var other = await RunAsync(8);
        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
        Assert.InRange(first.Count, 120, 190);
        Assert.NotEqual(first.Order().ToList(), first);
    }

    [Fact]
    public async Task Close_DeliversQueuedMessages_ThenBothEndsClose()
    {
        await using var pair = InMemoryChannelPair.Create(new InMemoryChannelOptions { BandwidthBytesPerSecond = 5_000_000 });
        for (var i = 0; i < 50; i++)
        {
            pair.A.Send(new byte[10_000]);
        }

        var drain = Task.Run(async () =>
        {
            var count = 0;
            await foreach (var message in pair.B.ReceiveAllAsync())
            {
                count++;
            }

            return count;
        });
        await pair.A.CloseAsync();

        Assert.Equal(50, await drain.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(DataChannelState.Closed, pair.A.State);
        Assert.Equal(DataChannelState.Closed, pair.B.State);
        Assert.Throws<DataChannelClosedException>(() => pair.B.Send([1]));
    }

    [Fact]
    public async Task Disconnect_DropsQueuedMessages_AndEndsBothReceiveStreams()
    {
        await using var pair = InMemoryChannelPair.Create(new InMemoryChannelOptions { BandwidthBytesPerSecond = 10_000 });
        for (var i = 0; i < 50; i++)
        {
            pair.A.Send(new byte[1000]);
        }

        var drain = Task.Run(async () =>
        {
            var count = 0;
            await foreach (var message in pair.B.ReceiveAllAsync())
            {
                count++;
            }

            return count;
        });
        pair.Disconnect();

        Assert.True(await drain.WaitAsync(TimeSpan.FromSeconds(10)) < 50);
        Assert.Equal(DataChannelState.Closed, pair.A.State);
        await pair.A.WaitForBufferedAmountLowAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task OversizedMessage_IsRefused()
    {
        await using var pair = InMemoryChannelPair.Create(new InMemoryChannelOptions { MaxMessageSize = 100 });
        Assert.Throws<ArgumentException>(() => pair.A.Send(new byte[101]));
    }
}
