using Messenger.Contracts.Chat;
using Messenger.Contracts.FileTransfer;
using Messenger.Contracts.Storage;
using Messenger.Plugins.Storage.Folder;
using Messenger.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Messenger.Plugins.FileTransfer.Tests;

public sealed class RobustnessTests
{
    [Fact]
    public async Task Receive_StoreFullMidway_FailsCleanlyOnBothSides()
    {
        await using var pair = await TransferPair.StartAsync(b: new SideOptions
        {
            Transfer = TransferPair.Small(o => o.AutoAcceptMaxBytes = long.MaxValue),
            Services = s => s.Replace(ServiceDescriptor.Singleton<IFileStore>(sp => new FailingFileStore(sp.GetRequiredService<FolderStore>().Files, failAtBytes: 8 * 1024))),
        });
        var id = (await pair.TransfersA.SendFileAsync(pair.Folder.WritePatternFile("f.bin", 50_000))).TransferId;

        var atB = Assert.IsType<TransferFailed>(await pair.EventsB.WaitForEndAsync(id));
        var atA = Assert.IsType<TransferFailed>(await pair.EventsA.WaitForEndAsync(id));
        Assert.Contains("No space left on device", atB.Transfer.Reason, StringComparison.Ordinal);
        Assert.Contains("the peer failed", atA.Transfer.Reason, StringComparison.Ordinal);
        Assert.Contains("No space left on device", atA.Transfer.Reason, StringComparison.Ordinal);
        Assert.Empty(await TransferTests.ListStoredAsync(pair.FilesB));
        Assert.Equal(TransferState.Failed, (await pair.B.Services.GetRequiredService<IMessageStore>().GetTransferAsync(id))!.State);
    }

    [Fact]
    public async Task Send_SourceFileShrinksAfterOffer_FailsCleanlyOnBothSides()
    {
        await using var pair = await TransferPair.StartAsync();
        var path = pair.Folder.WritePatternFile("f.bin", 50_000);
        var id = (await pair.TransfersA.SendFileAsync(path)).TransferId;
        await pair.EventsB.WaitForAsync<TransferOffered>();
        await File.WriteAllBytesAsync(path, new byte[100]);

        await pair.TransfersB.AcceptAsync(id);

        var atA = Assert.IsType<TransferFailed>(await pair.EventsA.WaitForEndAsync(id));
        var atB = Assert.IsType<TransferFailed>(await pair.EventsB.WaitForEndAsync(id));
        Assert.Contains("could not read the file", atA.Transfer.Reason, StringComparison.Ordinal);
        Assert.Contains("could not read the file", atB.Transfer.Reason, StringComparison.Ordinal);
        Assert.Empty(await TransferTests.ListStoredAsync(pair.FilesB));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Transfer_LossyLink_NeverReportsACorruptFileAsVerified(int seed)
    {
        var link = new InMemoryChannelOptions { LossRate = 0.01, ReorderRate = 0.01, Seed = seed };
        await using var pair = await TransferPair.StartAsync(link, b: new SideOptions { Transfer = TransferPair.Small(o => o.AutoAcceptMaxBytes = long.MaxValue) });
        var path = pair.Folder.WritePatternFile("lossy.bin", 300_000, seed);
        var id = (await pair.TransfersA.SendFileAsync(path)).TransferId;

        TransferEvent? end = null;
        try
        {
            end = await pair.EventsB.WaitForEndAsync(id, seconds: 3);
        }
        catch (TimeoutException)
        {
            // A lost control frame (the offer, the accept) leaves the transfer waiting; that is not a corrupt file.
        }

        var stored = await TransferTests.ListStoredAsync(pair.FilesB);
        Console.WriteLine($"lossy seed {seed}: {end?.GetType().Name ?? "no end within 3 s"} ({end?.Transfer.Reason}); dropped {pair.Channels.A.MessagesDropped + pair.Channels.B.MessagesDropped} messages");
        if (end is TransferCompleted completed)
        {
            Assert.Equal(await File.ReadAllBytesAsync(path), await TransferTests.ReadStoredAsync(pair.FilesB, completed.Transfer.FileId!));
        }
        else
        {
            Assert.DoesNotContain(stored, f => f.IsComplete);
            Assert.DoesNotContain(pair.EventsA.Events, e => e is TransferCompleted);
        }

        if (end is TransferFailed failed)
        {
            Assert.Contains("lost data", failed.Transfer.Reason, StringComparison.Ordinal);
            Assert.Empty(stored);
        }
    }

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
        const int size = 2 * 1024 * 1024;
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
        // Bound: each way a chat frame waits behind at most the bulk threshold (512 KiB) plus the link's receive window (64 frames of 16 KiB) at 8 MB/s, ~0.2 s.
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
