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

    /// <summary>Whether a frame the sender's channel is given is a bulk frame (its kind, the array's first item).</summary>
    private static bool IsBulk(ReadOnlyMemory<byte> message)
    {
        var reader = new MessagePackReader(message);
        reader.ReadArrayHeader();
        return reader.ReadInt32() == Bulk.Value;
    }

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
            new FramingOptions { BulkBufferThreshold = threshold, BulkQueueDelay = TimeSpan.Zero });

        // Observed where the order is decided, at the sender's channel: the receiving side's queues fill whenever the
        // test process is starved of CPU, which says nothing about the scheduler.
        var bulkWritten = 0;
        var bulkWrittenAtChatQueued = 0;
        var frameSize = 0;
        var chats = new List<(int BulkAfterQueued, long BufferedAhead)>();
        var fifthChat = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        pair.Channels.A.Sending = (message, bufferedBefore) =>
        {
            if (IsBulk(message))
            {
                frameSize = message.Length;
                Interlocked.Increment(ref bulkWritten);
                return;
            }

            lock (chats)
            {
                chats.Add((Volatile.Read(ref bulkWritten) - Volatile.Read(ref bulkWrittenAtChatQueued), bufferedBefore));
                if (chats.Count == 5)
                {
                    fifthChat.TrySetResult();
                }
            }
        };
        using var stop = new CancellationTokenSource();
        await using var lane = pair.A.OpenBulkLane("saturating");
        var producer = ProduceAsync(lane, 0, stop.Token);

        var bulkReceived = 0;
        var chatReceived = 0;
        var chatOutstanding = false;
        await foreach (var (kind, _) in receiver.ReadAllAsync(CancellationToken.None).WithCancellation(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token))
        {
            if (kind == Chat)
            {
                chatOutstanding = false;
                if (++chatReceived == 5)
                {
                    break;
                }
            }
            else if (++bulkReceived % 40 == 0 && !chatOutstanding)
            {
                chatOutstanding = true;
                // The link is saturated: queue one chat frame at a time and note how much bulk had been written.
                Volatile.Write(ref bulkWrittenAtChatQueued, Volatile.Read(ref bulkWritten));
                await pair.A.SendAsync(Chat, MessagePackSerializer.Serialize("hi"));
            }
        }

        await fifthChat.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await stop.CancelAsync();
        await producer;
        Assert.True(pair.Channels.A.PeakBufferedAmount > threshold, "the bulk producer did not saturate the channel");
        foreach (var (bulkAfterQueued, bufferedAhead) in chats)
        {
            // Once a chat frame is queued, at most the one bulk frame the writer had already taken goes before it,
            // and what waits ahead of it in the channel is at most the threshold plus the frame that crossed it.
            Assert.True(bulkAfterQueued <= 1, $"{bulkAfterQueued} bulk frames were written after the chat frame was queued");
            Assert.True(bufferedAhead <= threshold + frameSize, $"{bufferedAhead} B were buffered ahead of the chat frame; threshold {threshold}, frame {frameSize} B");
        }
    }

    [Fact]
    public async Task ChatFrame_RightAfterBulkStarts_WaitsBehindTheMinimumThresholdNotAnUnmeasuredGuess()
    {
        // 200 KB/s, and no rate measured yet: the threshold starts at its minimum (4 KiB), so the chat frame queued as
        // the first bulk frame is written finds at most the minimum and a frame ahead of it, not 64 KiB (a third of a
        // second here; a link in slow start drains slower still).
        const long minimum = 4 * 1024;
        var receiver = new RecordingHandler("receiver", Bulk.Value, Chat.Value);
        await using var pair = await SessionPair.StartAsync(
            [],
            [receiver],
            new InMemoryChannelOptions { BandwidthBytesPerSecond = 200_000 },
            new FramingOptions { BulkBufferThreshold = 512 * 1024, BulkQueueDelay = TimeSpan.FromMilliseconds(2), BulkBufferMinimum = minimum });
        var frameSize = 0;
        long? ahead = null;
        Task? chat = null;
        pair.Channels.A.Sending = (message, bufferedBefore) =>
        {
            if (IsBulk(message))
            {
                frameSize = message.Length;
                // A few milliseconds in: the rate is not measured yet (a sample takes 10 ms), the bulk lanes are full.
                chat ??= Task.Run(async () =>
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(5));
                    await pair.A.SendAsync(Chat, MessagePackSerializer.Serialize("hi"));
                });
                return;
            }

            ahead ??= bufferedBefore;
        };
        using var stop = new CancellationTokenSource();
        var lanes = Enumerable.Range(0, 8).Select(i => pair.A.OpenBulkLane($"starting {i}")).ToList();
        var producers = lanes.Select((lane, i) => ProduceAsync(lane, i, stop.Token)).ToList();
        await foreach (var (kind, _) in receiver.ReadAllAsync(CancellationToken.None).WithCancellation(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token))
        {
            if (kind == Chat)
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

        Assert.NotNull(ahead);
        Assert.True(ahead <= minimum + frameSize, $"{ahead} B were buffered ahead of the chat frame (frame {frameSize} B, minimum {minimum} B)");
    }

    [Fact]
    public async Task ChatFrame_OnASlowLink_WaitsBehindTheQueueDelayOfBulkNotTheMaximum()
    {
        // 2 MB/s: 2 ms of it is 4 KB, while the largest threshold allowed is 512 KiB (a quarter of a second here).
        const long maximum = 512 * 1024;
        var receiver = new RecordingHandler("receiver", Bulk.Value, Chat.Value);
        await using var pair = await SessionPair.StartAsync(
            [],
            [receiver],
            new InMemoryChannelOptions { BandwidthBytesPerSecond = 2_000_000 },
            new FramingOptions { BulkBufferThreshold = maximum, BulkQueueDelay = TimeSpan.FromMilliseconds(2) });
        var frameSize = 0;
        var ahead = new List<long>();
        pair.Channels.A.Sending = (message, bufferedBefore) =>
        {
            if (IsBulk(message))
            {
                frameSize = message.Length;
                return;
            }

            lock (ahead)
            {
                ahead.Add(bufferedBefore);
            }
        };
        using var stop = new CancellationTokenSource();
        await using var lane = pair.A.OpenBulkLane("saturating");
        var producer = ProduceAsync(lane, 0, stop.Token);

        var bulkReceived = 0;
        var chatReceived = 0;
        await foreach (var (kind, _) in receiver.ReadAllAsync(CancellationToken.None).WithCancellation(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token))
        {
            if (kind == Chat && ++chatReceived == 5)
            {
                break;
            }

            // After the first 20 frames (a rate is known), one chat frame every 10 bulk frames.
            if (kind == Bulk && ++bulkReceived > 20 && bulkReceived % 10 == 0)
            {
                await pair.A.SendAsync(Chat, MessagePackSerializer.Serialize("hi"));
            }
        }

        await stop.CancelAsync();
        await producer;
        lock (ahead)
        {
            Assert.Equal(5, ahead.Count);
            foreach (var buffered in ahead)
            {
                // The measured rate sets the threshold near its floor; what waits ahead is it plus a frame or two,
                // never the half a megabyte the fixed maximum would let queue.
                Assert.True(buffered <= 64 * 1024, $"{buffered} B were buffered ahead of a chat frame (frame {frameSize} B, threshold now {pair.A.BulkThreshold} B)");
            }
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
