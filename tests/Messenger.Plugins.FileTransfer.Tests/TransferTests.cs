using Messenger.Contracts.FileTransfer;
using Messenger.Contracts.Storage;
using Messenger.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace Messenger.Plugins.FileTransfer.Tests;

public sealed class TransferTests
{
    private const int Chunk = 1024;

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(Chunk - 1)]
    [InlineData(Chunk)]
    [InlineData(Chunk + 1)]
    [InlineData((3 * Chunk) - 1)]
    [InlineData(3 * Chunk)]
    [InlineData((3 * Chunk) + 1)]
    public async Task SendFileAsync_SizeAroundChunkBoundary_ReceiverStoresIdenticalVerifiedFile(int size)
    {
        await using var pair = await TransferPair.StartAsync(b: new SideOptions { Transfer = TransferPair.Small(o => o.AutoAcceptMaxBytes = 1 << 20) });
        var path = pair.Folder.WritePatternFile("data.bin", size, seed: size);

        var offered = await pair.TransfersA.SendFileAsync(path);
        var sent = await pair.EventsA.WaitForEndAsync(offered.TransferId);
        var received = await pair.EventsB.WaitForEndAsync(offered.TransferId);

        Assert.IsType<TransferCompleted>(sent);
        var completed = Assert.IsType<TransferCompleted>(received);
        Assert.Equal(size, completed.Transfer.BytesTransferred);
        Assert.Equal(await File.ReadAllBytesAsync(path), await ReadStoredAsync(pair.FilesB, completed.Transfer.FileId!));
        Assert.Equal((size + Chunk - 1) / Chunk, pair.ServiceA.ChunksSent(offered.TransferId));
        Assert.Equal(TransferState.Completed, pair.TransfersA.GetTransfers().Single().State);
        Assert.Equal(0, pair.SessionA.Statistics.Malformed + pair.SessionB.Statistics.Malformed + pair.SessionA.Statistics.HandlerFailed + pair.SessionB.Statistics.HandlerFailed);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(102_399)]
    [InlineData(102_400)]
    [InlineData(300_001)]
    public async Task SendFileAsync_SqlCipherStore_ReceiverStoresIdenticalVerifiedFile(int size)
    {
        var side = new SideOptions { SqlCipher = true, Transfer = TransferPair.Small(o => o.AutoAcceptMaxBytes = 1 << 20) };
        await using var pair = await TransferPair.StartAsync(a: side, b: side);
        var path = pair.Folder.WritePatternFile("data.bin", size, seed: size);

        var offered = await pair.TransfersA.SendFileAsync(path);

        var completed = Assert.IsType<TransferCompleted>(await pair.EventsB.WaitForEndAsync(offered.TransferId));
        Assert.IsType<TransferCompleted>(await pair.EventsA.WaitForEndAsync(offered.TransferId));
        Assert.Equal(await File.ReadAllBytesAsync(path), await ReadStoredAsync(pair.FilesB, completed.Transfer.FileId!));
    }

    [Fact]
    public async Task AcceptAsync_OfferWaitingForUser_StartsOnlyAfterAccept()
    {
        await using var pair = await TransferPair.StartAsync();
        var path = pair.Folder.WritePatternFile("doc.txt", 5000);

        var offered = await pair.TransfersA.SendFileAsync(path, new SendFileOptions { Caption = "the report", ChatMessageId = "msg-1", FileName = "report.txt" });
        var incoming = await pair.EventsB.WaitForAsync<TransferOffered>();
        Assert.Equal("report.txt", incoming.Transfer.FileName);
        Assert.Equal("the report", incoming.Transfer.Caption);
        Assert.Equal("msg-1", incoming.Transfer.ChatMessageId);
        Assert.Equal("text/plain", incoming.Transfer.MediaType);
        Assert.Equal(5000, incoming.Transfer.Size);
        Assert.Equal(TransferState.Offered, pair.TransfersB.GetTransfers().Single().State);
        Assert.DoesNotContain(pair.EventsA.Events, e => e is TransferStarted);

        await pair.TransfersB.AcceptAsync(offered.TransferId);

        Assert.IsType<TransferCompleted>(await pair.EventsB.WaitForEndAsync(offered.TransferId));
        Assert.IsType<TransferCompleted>(await pair.EventsA.WaitForEndAsync(offered.TransferId));
    }

    [Fact]
    public async Task RejectAsync_Offer_BothSidesReportRejectedAndNothingIsStored()
    {
        await using var pair = await TransferPair.StartAsync();
        var offered = await pair.TransfersA.SendFileAsync(pair.Folder.WritePatternFile("x.bin", 3000));
        await pair.EventsB.WaitForAsync<TransferOffered>();

        await pair.TransfersB.RejectAsync(offered.TransferId, "not now");

        var atSender = Assert.IsType<TransferRejected>(await pair.EventsA.WaitForEndAsync(offered.TransferId));
        var atReceiver = Assert.IsType<TransferRejected>(await pair.EventsB.WaitForEndAsync(offered.TransferId));
        Assert.True(atSender.ByPeer);
        Assert.False(atReceiver.ByPeer);
        Assert.Contains("not now", atSender.Transfer.Reason, StringComparison.Ordinal);
        Assert.Empty(await ListStoredAsync(pair.FilesB));
    }

    [Fact]
    public async Task AutoAccept_OfferOverLimit_WaitsForUser()
    {
        await using var pair = await TransferPair.StartAsync(b: new SideOptions { Transfer = TransferPair.Small(o => o.AutoAcceptMaxBytes = 1000) });
        var small = await pair.TransfersA.SendFileAsync(pair.Folder.WritePatternFile("small.bin", 1000));
        var large = await pair.TransfersA.SendFileAsync(pair.Folder.WritePatternFile("large.bin", 1001));

        Assert.IsType<TransferCompleted>(await pair.EventsB.WaitForEndAsync(small.TransferId));
        await pair.EventsB.WaitForAsync<TransferOffered>(e => e.Transfer.TransferId == large.TransferId);
        Assert.Equal(TransferState.Offered, pair.TransfersB.GetTransfers().Single(t => t.TransferId == large.TransferId).State);
    }

    [Fact]
    public async Task WatchAsync_Transfer_YieldsOfferedStartedProgressCompletedInOrder()
    {
        await using var pair = await TransferPair.StartAsync(b: new SideOptions { Transfer = TransferPair.Small(o => o.AutoAcceptMaxBytes = 1 << 20) });
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var seen = new List<TransferEvent>();
        var watching = Task.Run(async () =>
        {
            await foreach (var e in pair.TransfersB.WatchAsync(stop.Token))
            {
                seen.Add(e);
                if (e is TransferCompleted or TransferFailed)
                {
                    return;
                }
            }
        });
        await Task.Delay(100);

        await pair.TransfersA.SendFileAsync(pair.Folder.WritePatternFile("w.bin", 10_000));
        await watching;

        Assert.IsType<TransferOffered>(seen[0]);
        Assert.IsType<TransferStarted>(seen[1]);
        Assert.IsType<TransferCompleted>(seen[^1]);
        var last = Assert.IsType<TransferProgressed>(seen[^2]);
        Assert.Equal(10_000, last.Progress.BytesTransferred);
        Assert.Equal(100, last.Progress.Percentage);
    }

    [Fact]
    public async Task SendFileAsync_MissingFile_ThrowsFileNotFound()
    {
        await using var pair = await TransferPair.StartAsync();
        await Assert.ThrowsAsync<FileNotFoundException>(async () => await pair.TransfersA.SendFileAsync(pair.Folder.Combine("absent.bin")));
    }

    [Fact]
    public async Task SendFileAsync_OverSlowLink_ProgressReportsRatesAndEta()
    {
        var link = new InMemoryChannelOptions { BandwidthBytesPerSecond = 1_000_000, Latency = TimeSpan.FromMilliseconds(5) };
        await using var pair = await TransferPair.StartAsync(link, b: new SideOptions { Transfer = TransferPair.Small(o => o.AutoAcceptMaxBytes = 1 << 22) });
        var offered = await pair.TransfersA.SendFileAsync(pair.Folder.WritePatternFile("slow.bin", 600_000));
        var started = await pair.EventsB.WaitForAsync<TransferStarted>();
        var clock = System.Diagnostics.Stopwatch.StartNew();

        await pair.EventsB.WaitForEndAsync(offered.TransferId);
        var elapsed = clock.Elapsed;

        var progress = pair.EventsB.Events.OfType<TransferProgressed>().Select(e => e.Progress).ToList();
        // Rate-limited to one event per 100 ms, plus the forced final one. The rates' arithmetic is checked on a fake
        // clock (ServiceSetupTests); here, on a real one, only what no machine load can change.
        Assert.InRange(progress.Count, 3, (elapsed.TotalMilliseconds / 100) + 2);
        var middle = progress[progress.Count / 2];
        Assert.True(middle.AverageBytesPerSecond > 0 && middle.InstantBytesPerSecond > 0, $"rates {middle.AverageBytesPerSecond} / {middle.InstantBytesPerSecond}");
        Assert.NotNull(middle.EstimatedRemaining);
        var expectedEta = (middle.TotalBytes - middle.BytesTransferred) / middle.InstantBytesPerSecond;
        Assert.Equal(expectedEta, middle.EstimatedRemaining!.Value.TotalSeconds, expectedEta * 0.01 + 0.001);
        Assert.Equal(600_000, progress[^1].BytesTransferred);
        Assert.Equal(TimeSpan.Zero, progress[^1].EstimatedRemaining);
        Assert.Equal(0, started.ResumedFrom);
        Assert.Equal(progress.Select(p => p.BytesTransferred).Order(), progress.Select(p => p.BytesTransferred));
    }

    [Fact]
    public async Task SendFileAsync_OnAMeasuredSlowLink_OffersChunksOfAFewMillisecondsOfIt()
    {
        // 1 MB/s: a 16 KiB chunk is 16 ms of it, which a chat frame would wait behind; 4 ms of it is under 4 KiB.
        var link = new InMemoryChannelOptions { BandwidthBytesPerSecond = 1_000_000, Latency = TimeSpan.FromMilliseconds(2) };
        await using var pair = await TransferPair.StartAsync(
            link,
            a: new SideOptions { Transfer = o => o.ChunkSize = 16 * 1024 },
            b: new SideOptions { Transfer = TransferPair.Small(o => o.AutoAcceptMaxBytes = 1 << 22) });
        var messages = pair.A.Services.GetRequiredService<IMessageStore>();
        Assert.Equal(0, pair.SessionA.BulkBytesPerSecond);

        // Before any bulk has gone the rate is unknown: the setting.
        var first = await pair.TransfersA.SendFileAsync(pair.Folder.WritePatternFile("first.bin", 300_000));
        await pair.EventsB.WaitForEndAsync(first.TransferId);
        Assert.Equal(16 * 1024, (await messages.GetTransferAsync(first.TransferId))!.ChunkSize);
        Assert.InRange(pair.SessionA.BulkBytesPerSecond, 100_000, 2_000_000);

        // Now it is measured: the floor, 4 KiB; the file still arrives whole.
        var second = await pair.TransfersA.SendFileAsync(pair.Folder.WritePatternFile("second.bin", 100_000));
        var ended = await pair.EventsB.WaitForEndAsync(second.TransferId);
        Assert.IsType<TransferCompleted>(ended);
        Assert.Equal(4 * 1024, (await messages.GetTransferAsync(second.TransferId))!.ChunkSize);
    }

    [Fact]
    public async Task SendFileAsync_OnAFastLinkOrWithChunkMillisecondsZero_KeepsTheSetting()
    {
        await using var fast = await TransferPair.StartAsync(b: new SideOptions { Transfer = TransferPair.Small(o => o.AutoAcceptMaxBytes = 1 << 24) });
        var warm = await fast.TransfersA.SendFileAsync(fast.Folder.WritePatternFile("warm.bin", 4_000_000));
        await fast.EventsB.WaitForEndAsync(warm.TransferId);
        var next = await fast.TransfersA.SendFileAsync(fast.Folder.WritePatternFile("next.bin", 100_000));
        await fast.EventsB.WaitForEndAsync(next.TransferId);
        // Unlimited, the channel is never what bulk waits for: no rate, or one far above 4 KiB per 4 ms.
        Assert.True(fast.SessionA.BulkBytesPerSecond is 0 or > 16 * 1024 * 1000 / 4, $"{fast.SessionA.BulkBytesPerSecond} B/s");
        var fastMessages = fast.A.Services.GetRequiredService<IMessageStore>();
        Assert.Equal(
            (await fastMessages.GetTransferAsync(warm.TransferId))!.ChunkSize,
            (await fastMessages.GetTransferAsync(next.TransferId))!.ChunkSize);

        var link = new InMemoryChannelOptions { BandwidthBytesPerSecond = 1_000_000, Latency = TimeSpan.FromMilliseconds(2) };
        await using var fixedSize = await TransferPair.StartAsync(
            link,
            a: new SideOptions { Transfer = o => (o.ChunkSize, o.ChunkMilliseconds) = (16 * 1024, 0) },
            b: new SideOptions { Transfer = TransferPair.Small(o => o.AutoAcceptMaxBytes = 1 << 22) });
        var one = await fixedSize.TransfersA.SendFileAsync(fixedSize.Folder.WritePatternFile("one.bin", 200_000));
        await fixedSize.EventsB.WaitForEndAsync(one.TransferId);
        var two = await fixedSize.TransfersA.SendFileAsync(fixedSize.Folder.WritePatternFile("two.bin", 50_000));
        await fixedSize.EventsB.WaitForEndAsync(two.TransferId);
        Assert.Equal(16 * 1024, (await fixedSize.A.Services.GetRequiredService<IMessageStore>().GetTransferAsync(two.TransferId))!.ChunkSize);
    }

    internal static async Task<byte[]> ReadStoredAsync(IFileStore files, string fileId)
    {
        await using var stream = await files.OpenReadAsync(fileId);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    internal static async Task<List<StoredFileInfo>> ListStoredAsync(IFileStore files)
    {
        var list = new List<StoredFileInfo>();
        await foreach (var file in files.ListAsync())
        {
            list.Add(file);
        }

        return list;
    }
}
