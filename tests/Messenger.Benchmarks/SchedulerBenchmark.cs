using System.Diagnostics;
using System.Globalization;
using MessagePack;
using Messenger.Contracts.Framing;
using Messenger.Host.Framing;
using Messenger.Host.Sessions;
using Messenger.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Messenger.Benchmarks;

/// <summary>
/// Bulk throughput through the send scheduler and routing over the in-memory pair (no bandwidth limit, so the
/// host's own cost is the limit), with chat round trips measured while the bulk lane is saturated.
/// </summary>
internal static class SchedulerBenchmark
{
    private static readonly FrameKind Bulk = new(990);
    private static readonly FrameKind Ping = new(991);
    private static readonly FrameKind Pong = new(992);

    public static async Task RunAsync()
    {
        var table = new Table("chunk", "lanes", "threshold", "MB/s", "chat RTT p50 ms", "chat RTT max ms", "alloc MB");
        foreach (var (chunk, lanes, threshold) in new[] { (16 * 1024, 1, 512 * 1024L), (64 * 1024, 1, 512 * 1024L), (16 * 1024, 3, 512 * 1024L), (16 * 1024, 1, 128 * 1024L) })
        {
            var result = await MeasureAsync(chunk, lanes, threshold, totalBytes: 512L * 1024 * 1024);
            table.Add(
                $"{chunk / 1024} KiB",
                lanes.ToString(CultureInfo.InvariantCulture),
                $"{threshold / 1024} KiB",
                result.MegabytesPerSecond.ToString("F0", CultureInfo.InvariantCulture),
                result.RttMedian.TotalMilliseconds.ToString("F2", CultureInfo.InvariantCulture),
                result.RttMax.TotalMilliseconds.ToString("F2", CultureInfo.InvariantCulture),
                (result.AllocatedBytes / 1e6).ToString("F0", CultureInfo.InvariantCulture));
        }

        table.Print();
    }

    private static async Task<(double MegabytesPerSecond, TimeSpan RttMedian, TimeSpan RttMax, long AllocatedBytes)> MeasureAsync(int chunk, int laneCount, long threshold, long totalBytes)
    {
        await using var pair = InMemoryChannelPair.Create(new InMemoryChannelOptions { ReceiveQueueCapacity = 256 });
        var sink = new Sink();
        var echo = new Echo();
        var options = new FramingOptions { BulkBufferThreshold = threshold };
        var sender = new PeerSession(pair.A, "b", new FrameRouter([echo]), [], options, NullLogger.Instance);
        var receiver = new PeerSession(pair.B, "a", new FrameRouter([sink]), [], options, NullLogger.Instance);
        await sender.StartAsync(CancellationToken.None);
        await receiver.StartAsync(CancellationToken.None);
        var runs = new[] { sender.RunAsync(CancellationToken.None), receiver.RunAsync(CancellationToken.None) };

        var body = MessagePackSerializer.Serialize(new byte[chunk]);
        var perLane = totalBytes / laneCount / chunk;
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var clock = Stopwatch.StartNew();
        var producers = Enumerable.Range(0, laneCount).Select(async i =>
        {
            await using var lane = sender.OpenBulkLane($"lane {i}");
            for (var n = 0; n < perLane; n++)
            {
                await lane.SendAsync(Bulk, body);
            }
        }).ToArray();

        var rtts = new List<TimeSpan>();
        var ping = MessagePackSerializer.Serialize(0);
        while (!producers.All(p => p.IsCompleted))
        {
            var start = Stopwatch.GetTimestamp();
            var pong = echo.Expect();
            await sender.SendAsync(Ping, ping);
            await pong;
            rtts.Add(Stopwatch.GetElapsedTime(start));
            await Task.Delay(10);
        }

        await Task.WhenAll(producers);
        await sink.WaitForAsync(perLane * laneCount);
        clock.Stop();
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        pair.Disconnect();
        await Task.WhenAll(runs);
        rtts.Sort();
        var median = rtts.Count > 0 ? rtts[rtts.Count / 2] : TimeSpan.Zero;
        var max = rtts.Count > 0 ? rtts[^1] : TimeSpan.Zero;
        return (perLane * laneCount * (double)chunk / clock.Elapsed.TotalSeconds / 1e6, median, max, allocated);
    }

    /// <summary>Counts bulk frames and answers pings.</summary>
    private sealed class Sink : IFrameHandler
    {
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private long _frames;
        private long _target = long.MaxValue;

        public string Name => "sink";

        public IReadOnlyCollection<FrameKind> Kinds { get; } = [Bulk, Ping];

        public async ValueTask HandleFrameAsync(IPeerSession session, FrameKind kind, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
        {
            if (kind == Ping)
            {
                await session.SendAsync(Pong, body, cancellationToken);
                return;
            }

            if (Interlocked.Increment(ref _frames) >= Interlocked.Read(ref _target))
            {
                _done.TrySetResult();
            }
        }

        public Task WaitForAsync(long frames)
        {
            Interlocked.Exchange(ref _target, frames);
            if (Interlocked.Read(ref _frames) >= frames)
            {
                _done.TrySetResult();
            }

            return _done.Task.WaitAsync(TimeSpan.FromMinutes(2));
        }
    }

    /// <summary>Completes the pending ping when its pong arrives.</summary>
    private sealed class Echo : IFrameHandler
    {
        private TaskCompletionSource _pending = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string Name => "echo";

        public IReadOnlyCollection<FrameKind> Kinds { get; } = [Pong];

        public Task Expect()
        {
            _pending = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _pending.Task;
        }

        public ValueTask HandleFrameAsync(IPeerSession session, FrameKind kind, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
        {
            _pending.TrySetResult();
            return ValueTask.CompletedTask;
        }
    }
}
