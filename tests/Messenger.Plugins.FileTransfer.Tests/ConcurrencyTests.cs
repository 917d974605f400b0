using Messenger.Contracts.Chat;
using Messenger.Contracts.FileTransfer;
using Messenger.TestSupport;

namespace Messenger.Plugins.FileTransfer.Tests;

/// <summary>Tests whose figures depend on CPU time run alone, after the parallel ones.</summary>
[CollectionDefinition(nameof(TimingCollection), DisableParallelization = true)]
public sealed class TimingCollection;

[Collection(nameof(TimingCollection))]
public sealed class ConcurrencyTests
{
    [Fact]
    public async Task Transfers_ThreeEachWayWithChat_AllCompleteFairlyAndChatStaysFast()
    {
        var link = new InMemoryChannelOptions { BandwidthBytesPerSecond = 8_000_000, Latency = TimeSpan.FromMilliseconds(2) };
        Action<FileTransferOptions> options = o =>
        {
            o.ChunkSize = 16 * 1024;
            o.AckIntervalBytes = 1024 * 1024;
            o.AutoAcceptMaxBytes = long.MaxValue;
        };
        await using var pair = await TransferPair.StartAsync(link, new SideOptions { Transfer = options }, new SideOptions { Transfer = options });
        var roundTrips = new List<TimeSpan>();
        pair.ChatA.ChatChanged += (_, e) =>
        {
            if (e is ChatMessageDelivered delivered)
            {
                lock (roundTrips)
                {
                    roundTrips.Add(delivered.RoundTrip);
                }
            }
        };
        const int size = 4 * 1024 * 1024;
        var aToB = new List<string>();
        var bToA = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            aToB.Add((await pair.TransfersA.SendFileAsync(pair.Folder.WritePatternFile($"a{i}.bin", size, i))).TransferId);
            bToA.Add((await pair.TransfersB.SendFileAsync(pair.Folder.WritePatternFile($"b{i}.bin", size, 10 + i))).TransferId);
        }

        var chatting = Task.Run(async () =>
        {
            for (var i = 0; i < 20; i++)
            {
                await pair.ChatA.SendAsync($"ping {i}");
                await Task.Delay(50);
            }
        });
        foreach (var id in aToB)
        {
            Assert.IsType<TransferCompleted>(await pair.EventsB.WaitForEndAsync(id, 60));
        }

        foreach (var id in bToA)
        {
            Assert.IsType<TransferCompleted>(await pair.EventsA.WaitForEndAsync(id, 60));
        }

        await chatting;
        await WaitUntilAsync(() => { lock (roundTrips) { return roundTrips.Count == 20; } });
        // Each way a chat frame waits behind at most the bulk threshold (512 KiB) plus the link's receive window (64 × 16 KiB) at 8 MB/s,
        // ~0.2 s; queued behind the files it would wait ~1.5 s (12 MiB each way).
        Assert.True(roundTrips.Max() < TimeSpan.FromSeconds(1), $"slowest chat round trip {roundTrips.Max().TotalMilliseconds} ms");
        Console.WriteLine($"chat round trips under load: median {roundTrips.Order().ElementAt(10).TotalMilliseconds:F0} ms, max {roundTrips.Max().TotalMilliseconds:F0} ms");

        // Round-robin lanes: when the first A→B file completes, the other two are well under way.
        var events = pair.EventsB.Events;
        var firstDone = events.ToList().FindIndex(e => e is TransferCompleted);
        foreach (var id in aToB.Where(id => id != events[firstDone].Transfer.TransferId))
        {
            var progressed = events.Take(firstDone).OfType<TransferProgressed>().Where(e => e.Transfer.TransferId == id).Select(e => e.Progress.BytesTransferred).DefaultIfEmpty(0).Max();
            Assert.True(progressed >= size / 4, $"transfer {id} had {progressed} bytes when the first finished");
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 10 s");
            await Task.Delay(20);
        }
    }
}
