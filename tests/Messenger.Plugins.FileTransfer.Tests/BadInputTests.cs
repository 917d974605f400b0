using Messenger.Contracts.Storage;
using Messenger.Contracts.FileTransfer;
using Messenger.Contracts.Framing;
using Messenger.Plugins.FileTransfer.Protocol;

namespace Messenger.Plugins.FileTransfer.Tests;

public sealed class BadInputTests
{
    private static readonly byte[] Content = PatternStream.Bytes(3000, seed: 9);

    [Fact]
    public async Task Offer_PathTraversalName_StoredUnderSanitisedNameInsideDownloads()
    {
        var peer = await RawPeer.StartAsync();
        await using var pair = peer.Pair;

        await peer.SendAsync(TransferFrameKinds.Offer, RawPeer.Offer(Content, name: "../../outside.txt"));
        Assert.Equal(0, (await peer.ExpectAsync<AcceptFrame>(TransferFrameKinds.Accept)).ResumeOffset);
        await peer.SendAllAsync("t1", Content);

        Assert.True((await peer.ExpectAsync<VerifyFrame>(TransferFrameKinds.Verify)).Verified);
        var done = Assert.IsType<TransferCompleted>(await pair.EventsB.WaitForEndAsync("t1"));
        Assert.Equal("outside.txt", done.Transfer.FileName);
        var found = Directory.GetFiles(pair.Folder.Path, "outside*", SearchOption.AllDirectories);
        Assert.Equal(Path.Combine(pair.DownloadsB, "outside.txt"), Assert.Single(found));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(pair.Folder.Path)!, "outside*"));
        Assert.Equal(Content, await File.ReadAllBytesAsync(found[0]));
    }

    [Fact]
    public async Task Offers_PastTheOpenTransferLimit_AreRejectedWithTheReason_TheOthersGoOn()
    {
        var peer = await RawPeer.StartAsync(o => o.MaxOpenIncomingTransfers = 3);
        await using var pair = peer.Pair;
        for (var i = 0; i < 3; i++)
        {
            await peer.SendAsync(TransferFrameKinds.Offer, RawPeer.Offer(Content, id: $"t{i}"));
            Assert.Equal($"t{i}", (await peer.ExpectAsync<AcceptFrame>(TransferFrameKinds.Accept)).TransferId);
        }

        await peer.SendAsync(TransferFrameKinds.Offer, RawPeer.Offer(Content, id: "t3"));
        var reject = await peer.ExpectAsync<RejectFrame>(TransferFrameKinds.Reject);
        Assert.Equal("t3", reject.TransferId);
        Assert.Contains("already has 3 unfinished incoming transfers", reject.Reason, StringComparison.Ordinal);

        // Finishing one makes room again.
        await peer.SendAllAsync("t0", Content);
        Assert.True((await peer.ExpectAsync<VerifyFrame>(TransferFrameKinds.Verify)).Verified);
        await pair.EventsB.WaitForEndAsync("t0");
        await peer.SendAsync(TransferFrameKinds.Offer, RawPeer.Offer(Content, id: "t4"));
        Assert.Equal("t4", (await peer.ExpectAsync<AcceptFrame>(TransferFrameKinds.Accept)).TransferId);
    }

    [Fact]
    public async Task Offer_TheDiskCannotHold_IsRejectedSayingHowMuchIsFree_NothingStored()
    {
        // The store's real free space, with all but a sliver of it to be kept free: a 5-byte file no longer fits.
        var free = new DriveInfo(Path.GetTempPath()).AvailableFreeSpace;
        var peer = await RawPeer.StartAsync(o => o.MinFreeDiskBytes = free - 2);
        await using var pair = peer.Pair;

        await peer.SendAsync(TransferFrameKinds.Offer, RawPeer.Offer(Content, id: "big"));

        var reject = await peer.ExpectAsync<RejectFrame>(TransferFrameKinds.Reject);
        Assert.Equal("big", reject.TransferId);
        Assert.Contains("the receiver's disk has", reject.Reason, StringComparison.Ordinal);
        Assert.Contains("bytes free", reject.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain(pair.TransfersB.GetTransfers(), t => t.State != TransferState.Rejected);
    }

    [Fact]
    public async Task RejectedOffers_PastTheHardBound_CloseTheSession_WithTheReasonAtThePeer()
    {
        var peer = await RawPeer.StartAsync(o => o.MaxRefusedOffersPerSession = 20);
        await using var pair = peer.Pair;

        try
        {
            for (var i = 0; i < 40 && !pair.SessionA.Ended.IsCancellationRequested; i++)
            {
                var offer = RawPeer.Offer(Content, id: $"bad{i}");
                offer.Size = -1;
                await peer.SendAsync(TransferFrameKinds.Offer, offer);
            }
        }
        catch (Messenger.Contracts.Channels.DataChannelClosedException)
        {
            // Closed while the flood was still going: the bound did its job.
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!pair.SessionA.Ended.IsCancellationRequested)
        {
            await Task.Delay(10, timeout.Token);
        }

        Assert.Equal("the peer sent more than 20 offers this side had to reject", pair.SessionB.CloseReason);
        Assert.Equal(pair.SessionB.CloseReason, pair.SessionA.RemoteCloseReason);
    }

    [Theory]
    [InlineData("negative-size", "negative")]
    [InlineData("too-large", "accepts at most")]
    [InlineData("sha-length", "SHA-256")]
    [InlineData("chunk-zero", "chunk size")]
    [InlineData("chunk-over-frame", "chunk size")]
    [InlineData("name-too-long", "file name")]
    [InlineData("name-nil", "file name")]
    [InlineData("media-type-nil", "media type")]
    [InlineData("preview-too-large", "preview")]
    [InlineData("preview-dimensions", "dimensions")]
    [InlineData("caption-too-long", "caption")]
    public async Task Offer_Hostile_RejectedWithReasonAndNothingStored(string attack, string reasonPart)
    {
        var peer = await RawPeer.StartAsync(o => o.MaxIncomingFileBytes = 1 << 30);
        await using var pair = peer.Pair;
        var offer = RawPeer.Offer(Content);
        switch (attack)
        {
            case "negative-size": offer.Size = -1; break;
            case "too-large": offer.Size = (1L << 30) + 1; break;
            case "sha-length": offer.Sha256 = new byte[31]; break;
            case "chunk-zero": offer.ChunkSize = 0; break;
            case "chunk-over-frame": offer.ChunkSize = pair.SessionB.MaxFrameBodySize; break;
            case "name-too-long": offer.FileName = new string('a', 5000); break;
            case "name-nil": offer.FileName = null!; break; // MessagePack nil, as a modified peer sends it
            case "media-type-nil": offer.MediaType = null!; break;
            case "preview-too-large": offer.Preview = new PreviewFrame { Thumbnail = new byte[(64 * 1024) + 1], ThumbnailMediaType = "image/jpeg", Width = 10, Height = 10, SourceMediaType = "image/png" }; break;
            case "preview-dimensions": offer.Preview = new PreviewFrame { Thumbnail = [1], ThumbnailMediaType = "image/jpeg", Width = 0, Height = 10, SourceMediaType = "image/png" }; break;
            default: offer.Caption = new string('c', 5000); break;
        }

        await peer.SendAsync(TransferFrameKinds.Offer, offer);

        var reject = await peer.ExpectAsync<RejectFrame>(TransferFrameKinds.Reject);
        Assert.Contains(reasonPart, reject.Reason, StringComparison.Ordinal);
        var refused = await pair.EventsB.WaitForAsync<TransferRejected>();
        Assert.False(refused.ByPeer);
        Assert.Contains(reasonPart, refused.Transfer.Reason, StringComparison.Ordinal);
        Assert.Empty(pair.TransfersB.GetTransfers());
        Assert.Empty(await TransferTests.ListStoredAsync(pair.FilesB));
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("")]
    [InlineData("an id that is far too long for any transfer to use, longer than sixty-four characters")]
    public async Task Offer_BadTransferId_CountedAsMalformedAndIgnored(string id)
    {
        var peer = await RawPeer.StartAsync();
        await using var pair = peer.Pair;

        await peer.SendAsync(TransferFrameKinds.Offer, RawPeer.Offer(Content, id: id));

        Assert.True(await peer.IsQuietAsync());
        Assert.Equal(1, pair.SessionB.Statistics.Malformed);
        Assert.Empty(pair.TransfersB.GetTransfers());
    }

    [Theory]
    [InlineData(100)]
    [InlineData(101)]
    [InlineData(102)]
    [InlineData(103)]
    [InlineData(104)]
    [InlineData(105)]
    [InlineData(106)]
    [InlineData(107)]
    [InlineData(108)]
    public async Task HandleFrame_MalformedBody_CountedAsMalformedAndSessionGoesOn(int kind)
    {
        var peer = await RawPeer.StartAsync();
        await using var pair = peer.Pair;

        await peer.SendRawAsync(new FrameKind(kind), [0x93, 0xc3, 0xc3, 0xc3]);
        await peer.SendRawAsync(new FrameKind(kind), [0xa3, 0x61, 0x62, 0x63]);
        await peer.SendAsync(TransferFrameKinds.Offer, RawPeer.Offer(Content));

        await peer.ExpectAsync<AcceptFrame>(TransferFrameKinds.Accept);
        Assert.Equal(2, pair.SessionB.Statistics.Malformed);
    }

    [Theory]
    [InlineData("duplicate", "twice")]
    [InlineData("out-of-range", "outside")]
    [InlineData("short-chunk", "holds")]
    [InlineData("bad-crc", "corrupt")]
    [InlineData("fewer-bytes", "stopped after 2048")]
    [InlineData("negative-index", "outside")]
    public async Task Chunk_Hostile_FailsTransferOnBothSidesAndDeletesPartial(string attack, string reasonPart)
    {
        var peer = await RawPeer.StartAsync();
        await using var pair = peer.Pair;
        await peer.SendAsync(TransferFrameKinds.Offer, RawPeer.Offer(Content));
        await peer.ExpectAsync<AcceptFrame>(TransferFrameKinds.Accept);

        await peer.SendChunkAsync("t1", 0, Content.AsSpan(0, 1024));
        switch (attack)
        {
            case "duplicate": await peer.SendChunkAsync("t1", 0, Content.AsSpan(0, 1024)); break;
            case "out-of-range":
                await peer.SendChunkAsync("t1", 1, Content.AsSpan(1024, 1024));
                await peer.SendChunkAsync("t1", 2, Content.AsSpan(2048, 952));
                await peer.SendChunkAsync("t1", 3, new byte[10]);
                break;
            case "short-chunk": await peer.SendChunkAsync("t1", 1, Content.AsSpan(1024, 1000)); break;
            case "bad-crc": await peer.SendChunkAsync("t1", 1, Content.AsSpan(1024, 1024), crc: 12345); break;
            case "fewer-bytes":
                await peer.SendChunkAsync("t1", 1, Content.AsSpan(1024, 1024));
                await peer.SendAsync(TransferFrameKinds.End, new EndFrame { TransferId = "t1", BytesSent = 3000 });
                break;
            default: await peer.SendChunkAsync("t1", -1, Content.AsSpan(0, 1024)); break;
        }

        var fail = await peer.ExpectAsync<FailFrame>(TransferFrameKinds.Fail);
        Assert.Contains(reasonPart, fail.Reason, StringComparison.Ordinal);
        var failed = Assert.IsType<TransferFailed>(await pair.EventsB.WaitForEndAsync("t1"));
        Assert.Contains(reasonPart, failed.Transfer.Reason, StringComparison.Ordinal);
        Assert.Empty(await TransferTests.ListStoredAsync(pair.FilesB));
    }

    [Fact]
    public async Task Chunk_Gap_AsksForResendFromMissingChunkAndCompletes()
    {
        var peer = await RawPeer.StartAsync();
        await using var pair = peer.Pair;
        await peer.SendAsync(TransferFrameKinds.Offer, RawPeer.Offer(Content));
        await peer.ExpectAsync<AcceptFrame>(TransferFrameKinds.Accept);

        await peer.SendChunkAsync("t1", 0, Content.AsSpan(0, 1024));
        await peer.SendChunkAsync("t1", 2, Content.AsSpan(2048, 952));
        await peer.SendAsync(TransferFrameKinds.End, new EndFrame { TransferId = "t1", BytesSent = 3000 });

        Assert.Equal(1024, (await peer.ExpectAsync<AcceptFrame>(TransferFrameKinds.Accept)).ResumeOffset);
        await peer.SendChunkAsync("t1", 1, Content.AsSpan(1024, 1024));
        await peer.SendChunkAsync("t1", 2, Content.AsSpan(2048, 952));
        await peer.SendAsync(TransferFrameKinds.End, new EndFrame { TransferId = "t1", BytesSent = 3000 });

        Assert.True((await peer.ExpectAsync<VerifyFrame>(TransferFrameKinds.Verify)).Verified);
        var done = Assert.IsType<TransferCompleted>(await pair.EventsB.WaitForEndAsync("t1"));
        Assert.Equal(Content, await TransferTests.ReadStoredAsync(pair.FilesB, done.Transfer.FileId!));
    }

    [Fact]
    public async Task Chunk_SecondGapBeyondLimit_FailsAsLostData()
    {
        var peer = await RawPeer.StartAsync(o => o.MaxGapRequests = 1);
        await using var pair = peer.Pair;
        var content = PatternStream.Bytes(5000, seed: 3);
        await peer.SendAsync(TransferFrameKinds.Offer, RawPeer.Offer(content));
        await peer.ExpectAsync<AcceptFrame>(TransferFrameKinds.Accept);

        await peer.SendChunkAsync("t1", 0, content.AsSpan(0, 1024));
        await peer.SendChunkAsync("t1", 2, content.AsSpan(2048, 1024));
        Assert.Equal(1024, (await peer.ExpectAsync<AcceptFrame>(TransferFrameKinds.Accept)).ResumeOffset);
        await peer.SendChunkAsync("t1", 1, content.AsSpan(1024, 1024));
        await peer.SendChunkAsync("t1", 3, content.AsSpan(3072, 1024));

        var fail = await peer.ExpectAsync<FailFrame>(TransferFrameKinds.Fail);
        Assert.Contains("lost data", fail.Reason, StringComparison.Ordinal);
        Assert.IsType<TransferFailed>(await pair.EventsB.WaitForEndAsync("t1"));
        Assert.Empty(await TransferTests.ListStoredAsync(pair.FilesB));
    }

    [Theory]
    [InlineData("streamed-wrong")]
    [InlineData("differs-from-offer")]
    [InlineData("none")]
    [InlineData("short")]
    public async Task End_StreamedDigestBadOrMissing_FailsAndPartialIsDeleted(string attack)
    {
        var peer = await RawPeer.StartAsync();
        await using var pair = peer.Pair;
        var offer = RawPeer.Offer(Content);
        var right = offer.Sha256!;
        offer.Sha256 = attack == "differs-from-offer" ? right : null;
        await peer.SendAsync(TransferFrameKinds.Offer, offer);
        var accept = await peer.ExpectAsync<AcceptFrame>(TransferFrameKinds.Accept);
        Assert.NotNull(accept.WindowBytes);

        var end = attack switch
        {
            "streamed-wrong" or "differs-from-offer" => System.Security.Cryptography.SHA256.HashData(new byte[] { 1 }),
            "short" => new byte[31],
            _ => null,
        };
        await peer.SendAllAsync("t1", Content, endSha256: end);

        var failed = Assert.IsType<TransferFailed>(await pair.EventsB.WaitForEndAsync("t1"));
        Assert.Contains("SHA-256", failed.Transfer.Reason, StringComparison.Ordinal);
        Assert.Empty(await TransferTests.ListStoredAsync(pair.FilesB));
    }

    [Fact]
    public async Task End_StreamedDigestRight_Completes()
    {
        var peer = await RawPeer.StartAsync();
        await using var pair = peer.Pair;
        var offer = RawPeer.Offer(Content);
        var sha = offer.Sha256;
        offer.Sha256 = null;
        await peer.SendAsync(TransferFrameKinds.Offer, offer);
        await peer.ExpectAsync<AcceptFrame>(TransferFrameKinds.Accept);

        await peer.SendAllAsync("t1", Content, endSha256: sha);

        Assert.True((await peer.ExpectAsync<VerifyFrame>(TransferFrameKinds.Verify)).Verified);
        Assert.IsType<TransferCompleted>(await pair.EventsB.WaitForEndAsync("t1"));
    }

    [Fact]
    public async Task End_HashMismatch_VerifyFailsAndPartialIsDeleted()
    {
        var peer = await RawPeer.StartAsync();
        await using var pair = peer.Pair;
        var offer = RawPeer.Offer(Content);
        offer.Sha256 = System.Security.Cryptography.SHA256.HashData(new byte[] { 1 });
        await peer.SendAsync(TransferFrameKinds.Offer, offer);
        await peer.ExpectAsync<AcceptFrame>(TransferFrameKinds.Accept);

        await peer.SendAllAsync("t1", Content);

        var verify = await peer.ExpectAsync<VerifyFrame>(TransferFrameKinds.Verify);
        Assert.False(verify.Verified);
        Assert.Contains("SHA-256", verify.Reason, StringComparison.Ordinal);
        Assert.IsType<TransferFailed>(await pair.EventsB.WaitForEndAsync("t1"));
        Assert.Empty(await TransferTests.ListStoredAsync(pair.FilesB));
        Assert.Empty(Directory.GetFiles(pair.DownloadsB, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Chunk_UnknownTransfer_CountedAsMalformedAndPeerToldToStop()
    {
        var peer = await RawPeer.StartAsync();
        await using var pair = peer.Pair;

        await peer.SendChunkAsync("nobody", 0, Content.AsSpan(0, 10));
        await peer.SendChunkAsync("nobody", 1, Content.AsSpan(0, 10));

        var cancel = await peer.ExpectAsync<CancelFrame>(TransferFrameKinds.Cancel);
        Assert.Equal("nobody", cancel.TransferId);
        Assert.True(await peer.IsQuietAsync());
        Assert.Equal(2, pair.SessionB.Statistics.Malformed);
        Assert.Empty(await TransferTests.ListStoredAsync(pair.FilesB));
    }

    [Fact]
    public async Task Chunk_AfterReceiverCancelled_DroppedQuietly()
    {
        var peer = await RawPeer.StartAsync();
        await using var pair = peer.Pair;
        await peer.SendAsync(TransferFrameKinds.Offer, RawPeer.Offer(Content));
        await peer.ExpectAsync<AcceptFrame>(TransferFrameKinds.Accept);
        await peer.SendChunkAsync("t1", 0, Content.AsSpan(0, 1024));

        await pair.TransfersB.CancelAsync("t1");
        Assert.Equal("t1", (await peer.ExpectAsync<CancelFrame>(TransferFrameKinds.Cancel)).TransferId);
        await peer.SendChunkAsync("t1", 1, Content.AsSpan(1024, 1024));
        await peer.SendAsync(TransferFrameKinds.End, new EndFrame { TransferId = "t1", BytesSent = 3000 });

        Assert.True(await peer.IsQuietAsync());
        Assert.Equal(0, pair.SessionB.Statistics.Malformed);
        Assert.IsType<TransferCancelled>(Assert.Single(pair.EventsB.Events, e => e is TransferCancelled or TransferFailed));
        Assert.Empty(await TransferTests.ListStoredAsync(pair.FilesB));
    }

    [Fact]
    public async Task Offer_SameIdDifferentFile_Rejected()
    {
        var peer = await RawPeer.StartAsync(o => o.AutoAcceptMaxBytes = null);
        await using var pair = peer.Pair;
        await peer.SendAsync(TransferFrameKinds.Offer, RawPeer.Offer(Content));
        await pair.EventsB.WaitForAsync<TransferOffered>();

        await peer.SendAsync(TransferFrameKinds.Offer, RawPeer.Offer(new byte[10]));

        Assert.Contains("different file", (await peer.ExpectAsync<RejectFrame>(TransferFrameKinds.Reject)).Reason, StringComparison.Ordinal);
        Assert.Equal(3000, Assert.Single(pair.TransfersB.GetTransfers()).Size);
    }
}
