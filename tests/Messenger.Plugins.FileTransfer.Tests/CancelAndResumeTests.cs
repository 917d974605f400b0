using Messenger.Contracts.FileTransfer;
using Messenger.Contracts.Storage;
using Messenger.TestSupport;

namespace Messenger.Plugins.FileTransfer.Tests;

public sealed class CancelAndResumeTests
{
    private const int Chunk = 16 * 1024;
    private const int Size = (3 * 1024 * 1024) + 123;

    private static readonly InMemoryChannelOptions SlowLink = new() { BandwidthBytesPerSecond = 3_000_000, Latency = TimeSpan.FromMilliseconds(2) };

    private static SideOptions Side(bool autoAccept, bool sqlCipher = false) => new()
    {
        SqlCipher = sqlCipher,
        Transfer = o =>
        {
            o.ChunkSize = Chunk;
            o.AckIntervalBytes = 256 * 1024;
            o.AutoAcceptMaxBytes = autoAccept ? long.MaxValue : null;
        },
    };

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, false)]
    [InlineData(true, true)]
    [InlineData(false, true)]
    public async Task CancelAsync_FromEitherSideAtEitherPoint_BothReportCancelledAndPartialIsDeleted(bool bySender, bool midway)
    {
        await using var pair = await TransferPair.StartAsync(SlowLink, Side(false), Side(false));
        var path = pair.Folder.WritePatternFile("big.bin", Size);
        var offered = await pair.TransfersA.SendFileAsync(path);
        var id = offered.TransferId;
        await pair.EventsB.WaitForAsync<TransferOffered>();
        if (midway)
        {
            await pair.TransfersB.AcceptAsync(id);
            await pair.EventsB.WaitForAsync<TransferProgressed>(e => e.Progress.BytesTransferred >= Size / 4);
        }

        await (bySender ? pair.TransfersA : pair.TransfersB).CancelAsync(id);

        var atA = Assert.IsType<TransferCancelled>(await pair.EventsA.WaitForEndAsync(id));
        var atB = Assert.IsType<TransferCancelled>(await pair.EventsB.WaitForEndAsync(id));
        Assert.Equal(!bySender, atA.ByPeer);
        Assert.Equal(bySender, atB.ByPeer);
        Assert.StartsWith(bySender ? "cancelled by you" : "cancelled by the peer", atA.Transfer.Reason, StringComparison.Ordinal);
        Assert.StartsWith(bySender ? "cancelled by the peer" : "cancelled by you", atB.Transfer.Reason, StringComparison.Ordinal);
        Assert.Empty(await TransferTests.ListStoredAsync(pair.FilesB));
        var sent = pair.ServiceA.ChunksSent(id);
        await Task.Delay(300);
        Assert.Equal(sent, pair.ServiceA.ChunksSent(id));
        Assert.True(sent < (Size / Chunk) + 1, $"{sent} chunks went out; the cancel should have stopped the sender early");
        Assert.Equal(0, pair.SessionB.Statistics.Malformed);
    }

    [Fact]
    public async Task Resume_AfterDisconnect_ContinuesFromVerifiedPrefixWithoutResendingVerifiedChunks()
    {
        await using var pair = await TransferPair.StartAsync(SlowLink, Side(false), Side(true));
        var path = pair.Folder.WritePatternFile("big.bin", Size);
        var id = (await pair.TransfersA.SendFileAsync(path)).TransferId;
        await pair.EventsB.WaitForAsync<TransferProgressed>(e => e.Progress.BytesTransferred >= Size / 3);

        await pair.DisconnectAsync();
        await pair.EventsA.WaitForAsync<TransferPaused>();
        var pausedB = await pair.EventsB.WaitForAsync<TransferPaused>();
        var sentBefore = pair.ServiceA.ChunksSent(id);
        await pair.ConnectAsync();

        var resumedA = await pair.EventsA.WaitForAsync<TransferStarted>(e => e.ResumedFrom > 0);
        Assert.IsType<TransferCompleted>(await pair.EventsB.WaitForEndAsync(id));
        Assert.IsType<TransferCompleted>(await pair.EventsA.WaitForEndAsync(id));
        var chunkCount = (Size + Chunk - 1) / Chunk;
        Assert.Equal(pausedB.Transfer.BytesTransferred, resumedA.ResumedFrom);
        Assert.True(sentBefore >= resumedA.ResumedFrom / Chunk);
        Assert.Equal(chunkCount - (resumedA.ResumedFrom / Chunk), pair.ServiceA.ChunksSent(id) - sentBefore);
        var stored = pair.TransfersB.GetTransfers().Single();
        Assert.Equal(await File.ReadAllBytesAsync(path), await TransferTests.ReadStoredAsync(pair.FilesB, stored.FileId!));

        // Both sides said they were checking the prefix, from 0 to all of it, before the resumed run started.
        foreach (var events in new[] { pair.EventsA, pair.EventsB })
        {
            var checking = events.Events.OfType<TransferPreparing>().Where(e => e.Transfer.TransferId == id).ToList();
            Assert.NotEmpty(checking);
            Assert.All(checking, e => Assert.Equal((TransferPreparation.CheckingResumedPrefix, resumedA.ResumedFrom), (e.Work, e.BytesTotal)));
            Assert.Equal(0, checking[0].BytesDone);
            Assert.Equal(resumedA.ResumedFrom, checking[^1].BytesDone);
        }

        var receiverEvents = pair.EventsB.Events.Where(e => e.Transfer.TransferId == id).ToList();
        Assert.True(
            receiverEvents.FindLastIndex(e => e is TransferPreparing) < receiverEvents.FindLastIndex(e => e is TransferStarted),
            "the receiver's prefix check was reported after its transfer had restarted");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Resume_AfterRestartOfBothProcesses_ContinuesFromStoredPrefix(bool sqlCipher)
    {
        await using var pair = await TransferPair.StartAsync(SlowLink, Side(false, sqlCipher), Side(true, sqlCipher));
        var path = pair.Folder.WritePatternFile("big.bin", Size);
        var id = (await pair.TransfersA.SendFileAsync(path, new SendFileOptions { Caption = "survives" })).TransferId;
        await pair.EventsB.WaitForAsync<TransferProgressed>(e => e.Progress.BytesTransferred >= Size / 3);

        await pair.RestartAsync();

        var resumedA = await pair.EventsA.WaitForAsync<TransferStarted>();
        Assert.IsType<TransferCompleted>(await pair.EventsB.WaitForEndAsync(id));
        Assert.IsType<TransferCompleted>(await pair.EventsA.WaitForEndAsync(id));
        var chunkCount = (Size + Chunk - 1) / Chunk;
        Assert.True(resumedA.ResumedFrom >= Size / 3, $"resumed from {resumedA.ResumedFrom}");
        Assert.Equal(0, resumedA.ResumedFrom % Chunk);
        Assert.Equal(chunkCount - (resumedA.ResumedFrom / Chunk), pair.ServiceA.ChunksSent(id));
        var stored = pair.TransfersB.GetTransfers().Single();
        Assert.Equal(TransferState.Completed, stored.State);
        Assert.Equal(await File.ReadAllBytesAsync(path), await TransferTests.ReadStoredAsync(pair.FilesB, stored.FileId!));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task CancelAsync_WhileDisconnected_PeerLearnsOnReconnectAndPartialIsDeleted(bool bySender)
    {
        await using var pair = await TransferPair.StartAsync(SlowLink, Side(false), Side(true));
        var id = (await pair.TransfersA.SendFileAsync(pair.Folder.WritePatternFile("big.bin", Size))).TransferId;
        await pair.EventsB.WaitForAsync<TransferProgressed>(e => e.Progress.BytesTransferred >= Size / 4);
        await pair.DisconnectAsync();
        await pair.EventsA.WaitForAsync<TransferPaused>();
        await pair.EventsB.WaitForAsync<TransferPaused>();

        await (bySender ? pair.TransfersA : pair.TransfersB).CancelAsync(id);
        await pair.ConnectAsync();

        var atA = Assert.IsType<TransferCancelled>(await pair.EventsA.WaitForEndAsync(id));
        var atB = Assert.IsType<TransferCancelled>(await pair.EventsB.WaitForEndAsync(id));
        Assert.Equal(!bySender, atA.ByPeer);
        Assert.Equal(bySender, atB.ByPeer);
        Assert.Empty(await TransferTests.ListStoredAsync(pair.FilesB));
        Assert.DoesNotContain(pair.EventsA.Events, e => e is TransferStarted { ResumedFrom: > 0 });
    }

    [Fact]
    public async Task CancelAsync_KeepPartialOnCancel_PrefixStaysInStore()
    {
        var keep = Side(true) with { Transfer = o => { Side(true).Transfer!(o); o.KeepPartialOnCancel = true; } };
        await using var pair = await TransferPair.StartAsync(SlowLink, Side(false), keep);
        var id = (await pair.TransfersA.SendFileAsync(pair.Folder.WritePatternFile("big.bin", Size))).TransferId;
        await pair.EventsB.WaitForAsync<TransferProgressed>(e => e.Progress.BytesTransferred >= Size / 4);

        await pair.TransfersB.CancelAsync(id);

        await pair.EventsA.WaitForEndAsync(id);
        var partial = Assert.Single(await TransferTests.ListStoredAsync(pair.FilesB));
        Assert.False(partial.IsComplete);
        Assert.InRange(partial.Length, Size / 4, Size - 1);
    }

    [Fact]
    public async Task Resume_OfferedWhileDisconnectedToANamedPeer_GoesOutWhenThatPeerReconnects()
    {
        await using var pair = await TransferPair.StartAsync(null, Side(false), Side(true));
        await pair.DisconnectAsync();

        // With no one connected the file must name its peer (SendFileAsync_NoPeerConnectedAndNoneNamed_Throws…).
        var id = (await pair.TransfersA.SendFileAsync(pair.Folder.WritePatternFile("later.bin", 40_000), new SendFileOptions { PeerId = "peer-b" })).TransferId;
        Assert.Equal(TransferState.Offered, pair.TransfersA.GetTransfers().Single().State);
        await pair.ConnectAsync();

        Assert.IsType<TransferCompleted>(await pair.EventsA.WaitForEndAsync(id));
    }
}
