using MessagePack;
using Messenger.Contracts.Framing;
using Messenger.Host.Framing;
using Messenger.TestSupport;

namespace Messenger.Host.Tests;

public class SendSchedulerTests
{
    private static readonly FrameKind Bulk = new(500);
    private static readonly FrameKind Chat = new(501);
    private const int ChunkSize = 16 * 1024;

    private static byte[] Chunk(int lane, int sequence) => MessagePackSerializer.Serialize(new object[] { lane, sequence, new byte[ChunkSize] });

    private static async Task ProduceAsync(IBulkLane lane, int laneId, CancellationToken cancellationToken)
    {
        for (var sequence = 0; !cancellationToken.IsCancellationRequested; sequence++)
        {
            try
            {
                await lane.SendAsync(Bulk, Chunk(laneId, sequence), cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Contracts.Channels.DataChannelClosedException)
            {
                return;
            }
        }
    }

    [Fact]
    public async Task ChatFrame_UnderSaturatingBulk_WaitsBehindAtMostOneThresholdOfBulk()
    {
        const long threshold = 64 * 1024;
        var receiver = new RecordingHandler("receiver", Bulk.Value, Chat.Value);
        await using var pair = await SessionPair.StartAsync(
            [],
            [receiver],
            new InMemoryChannelOptions { BandwidthBytesPerSecond = 4_000_000 },
            new FramingOptions { BulkBufferThreshold = threshold });
        using var stop = new CancellationTokenSource();
        await using var lane = pair.A.OpenBulkLane("saturating");
        var producer = ProduceAsync(lane, 0, stop.Token);

        var bulkReceived = 0;
        var frameSize = 0;
        var chatSentAtBulkCount = -1;
        var bulkAheadOfChat = new List<int>();
        await foreach (var (kind, body) in receiver.ReadAllAsync(CancellationToken.None).WithCancellation(CancellationToken.None))
        {
            if (kind == Bulk)
            {
                bulkReceived++;
                frameSize = body.Length;
                if (bulkReceived % 40 == 0 && chatSentAtBulkCount < 0)
                {
                    // The link is saturated: queue a chat frame and note how much bulk had arrived.
                    chatSentAtBulkCount = bulkReceived;
                    _ = pair.A.SendAsync(Chat, MessagePackSerializer.Serialize("hi")).AsTask();
                }
            }
            else
            {
                bulkAheadOfChat.Add(bulkReceived - chatSentAtBulkCount);
                chatSentAtBulkCount = -1;
                if (bulkAheadOfChat.Count == 5)
                {
                    break;
                }
            }
        }

        await stop.CancelAsync();
        await producer;
        Assert.True(pair.Channels.A.PeakBufferedAmount > threshold, "the bulk producer did not saturate the channel");
        foreach (var ahead in bulkAheadOfChat)
        {
            // Counted at the receiver, ahead of the chat frame is: the channel's buffer (at most the threshold plus the frame
            // that crossed it) and the one frame between the link and this loop when the chat was queued. Nothing queued later.
            Assert.True(ahead * (long)frameSize <= threshold + 2 * frameSize, $"{ahead} bulk frames of {frameSize} B went before the chat frame; threshold {threshold}");
        }
    }

    [Fact]
    public async Task BulkLanes_ShareTheChannelFairly()
    {
        var receiver = new RecordingHandler("receiver", Bulk.Value);
        await using var pair = await SessionPair.StartAsync(
            [],
            [receiver],
            new InMemoryChannelOptions { BandwidthBytesPerSecond = 8_000_000 },
            new FramingOptions { BulkBufferThreshold = 64 * 1024 });
        using var stop = new CancellationTokenSource();
        var lanes = Enumerable.Range(0, 3).Select(i => pair.A.OpenBulkLane($"lane {i}")).ToArray();
        var producers = lanes.Select((lane, i) => ProduceAsync(lane, i, stop.Token)).ToArray();

        var perLane = new int[3];
        var total = 0;
        await foreach (var (_, body) in receiver.ReadAllAsync(CancellationToken.None))
        {
            var fields = MessagePackSerializer.Deserialize<object[]>(body);
            perLane[Convert.ToInt32(fields[0], System.Globalization.CultureInfo.InvariantCulture)]++;
            if (++total == 300)
            {
                break;
            }
        }

        await stop.CancelAsync();
        await Task.WhenAll(producers);
        foreach (var lane in lanes)
        {
            await lane.DisposeAsync();
        }

        Assert.All(perLane, count => Assert.InRange(count, 80, 120));
    }

    [Fact]
    public async Task BulkSend_IsWrittenOnlyBelowThreshold_AndAwaitsTheLowSignal()
    {
        const long threshold = 32 * 1024;
        var receiver = new RecordingHandler("receiver", Bulk.Value);
        await using var pair = await SessionPair.StartAsync(
            [],
            [receiver],
            new InMemoryChannelOptions { BandwidthBytesPerSecond = 2_000_000 },
            new FramingOptions { BulkBufferThreshold = threshold });
        await using var lane = pair.A.OpenBulkLane("one");

        for (var i = 0; i < 40; i++)
        {
            await lane.SendAsync(Bulk, Chunk(0, i));
            Assert.True(pair.Channels.A.BufferedAmount <= threshold + ChunkSize + 64, $"buffered {pair.Channels.A.BufferedAmount} after send {i}");
        }

        for (var i = 0; i < 40; i++)
        {
            await receiver.NextAsync();
        }

        Assert.True(pair.Channels.A.PeakBufferedAmount <= threshold + ChunkSize + 64);
    }

    [Fact]
    public async Task CancelledBulkSend_IsWithdrawn_BeforeItIsWritten()
    {
        var receiver = new RecordingHandler("receiver", Bulk.Value);
        await using var pair = await SessionPair.StartAsync(
            [],
            [receiver],
            new InMemoryChannelOptions { BandwidthBytesPerSecond = 200_000 },
            new FramingOptions { BulkBufferThreshold = 16 * 1024 });
        await using var lane = pair.A.OpenBulkLane("one");
        await lane.SendAsync(Bulk, Chunk(0, 0));
        await lane.SendAsync(Bulk, Chunk(0, 1));

        // The buffer is over the threshold now, so the third frame waits in the lane.
        using var cancel = new CancellationTokenSource();
        var pending = lane.SendAsync(Bulk, Chunk(0, 2), cancel.Token).AsTask();
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending);
        await lane.SendAsync(Bulk, Chunk(0, 3));

        var sequences = new List<int>();
        for (var i = 0; i < 3; i++)
        {
            var fields = MessagePackSerializer.Deserialize<object[]>((await receiver.NextAsync()).Body);
            sequences.Add(Convert.ToInt32(fields[1], System.Globalization.CultureInfo.InvariantCulture));
        }

        Assert.Equal([0, 1, 3], sequences);
    }

    [Fact]
    public async Task SecondOutstandingSendOnOneLane_IsRefused()
    {
        await using var pair = await SessionPair.StartAsync(
            [],
            [new RecordingHandler("receiver", Bulk.Value)],
            new InMemoryChannelOptions { BandwidthBytesPerSecond = 100_000 },
            new FramingOptions { BulkBufferThreshold = 1024 });
        await using var lane = pair.A.OpenBulkLane("one");
        await lane.SendAsync(Bulk, Chunk(0, 0));
        var first = lane.SendAsync(Bulk, Chunk(0, 1)).AsTask();
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await lane.SendAsync(Bulk, Chunk(0, 2)));
        await first;
    }
}
