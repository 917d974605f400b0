using Messenger.Contracts.Chat;
using Messenger.Contracts.FileTransfer;
using Messenger.Contracts.Storage;
using Messenger.Plugins.FileTransfer.Protocol;
using Messenger.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace Messenger.Plugins.FileTransfer.Tests;

/// <summary>
/// One profile (Alice) that talks to Bob, then to Carol: a transfer belongs to the peer it was offered to or by, and
/// no session with another peer may see it offered, resumed, answered or ended.
/// </summary>
public sealed class PeerBindingTests
{
    private const int Chunk = 16 * 1024;
    // Two seconds on the slow link: the 20 % mark leaves time enough to disconnect before the end on a loaded machine.
    private const int Size = (6 * 1024 * 1024) + 77;

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
    [InlineData(false)]
    [InlineData(true)]
    public async Task InterruptedOutgoingTransfer_NextSessionWithAnotherPeer_IsNeitherOfferedNorStreamed_AndResumesWithItsOwnPeer(bool sqlCipher)
    {
        await using var hosts = new PeerHosts();
        hosts.Add("alice", Side(false, sqlCipher));
        hosts.Add("bob", Side(true, sqlCipher));
        hosts.Add("carol", Side(true, sqlCipher));
        var path = hosts.Folder.WritePatternFile("big1g.bin", Size);
        var toBob = await hosts.ConnectAsync("alice", "bob", SlowLink);
        var id = (await hosts.Transfers("alice").SendFileAsync(path)).TransferId;
        await hosts.Events("bob").WaitForAsync<TransferProgressed>(e => e.Progress.BytesTransferred >= Size / 5);
        await toBob.DisconnectAsync();
        await hosts.Events("alice").WaitForAsync<TransferPaused>();
        var sentToBob = hosts.Service("alice").ChunksSent(id);

        var toCarol = await hosts.ConnectAsync("alice", "carol", SlowLink);
        await ChatRoundTripAsync(hosts, "alice", toCarol);

        Assert.DoesNotContain(toCarol.SentA, f => f.TransferId == id);
        Assert.DoesNotContain(toCarol.SentA, f => f.Kind == TransferFrameKinds.Offer.Value || f.Kind == TransferFrameKinds.Chunk.Value);
        Assert.Empty(hosts.Transfers("carol").GetTransfers());
        Assert.Empty(await TransferTests.ListStoredAsync(hosts["carol"].Services.GetRequiredService<IFileStore>()));
        Assert.Equal(sentToBob, hosts.Service("alice").ChunksSent(id));
        var held = hosts.Transfers("alice").GetTransfers().Single(t => t.TransferId == id);
        Assert.Equal((TransferState.Paused, "bob"), (held.State, held.PeerId));

        // A restart of Alice's process with Carol connected first changes nothing either.
        await toCarol.DisconnectAsync();
        hosts.Restart("alice", Side(false, sqlCipher));
        var again = await hosts.ConnectAsync("alice", "carol", SlowLink);
        await ChatRoundTripAsync(hosts, "alice", again);
        Assert.DoesNotContain(again.SentA, f => f.TransferId == id);
        await again.DisconnectAsync();

        // Bob, and only Bob, gets it: resumed from what he holds, not from the start.
        await hosts.ConnectAsync("alice", "bob", SlowLink);
        var resumed = await hosts.Events("alice").WaitForAsync<TransferStarted>(e => e.Transfer.TransferId == id);
        Assert.True(resumed.ResumedFrom >= Size / 5, $"resumed from {resumed.ResumedFrom}");
        Assert.IsType<TransferCompleted>(await hosts.Events("bob").WaitForEndAsync(id));
        var stored = hosts.Transfers("bob").GetTransfers().Single(t => t.TransferId == id);
        Assert.Equal(await File.ReadAllBytesAsync(path), await TransferTests.ReadStoredAsync(hosts["bob"].Services.GetRequiredService<IFileStore>(), stored.FileId!));
        Assert.Empty(hosts.Transfers("carol").GetTransfers());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task CancelWhileAnotherPeerIsConnected_NoticeGoesOnlyToTheTransfersPeer(bool bySender)
    {
        await using var hosts = new PeerHosts();
        hosts.Add("alice", Side(!bySender));
        hosts.Add("bob", Side(bySender));
        hosts.Add("carol", Side(true));
        var (sender, receiver) = bySender ? ("alice", "bob") : ("bob", "alice");
        var path = hosts.Folder.WritePatternFile("file.bin", Size);
        var link = await hosts.ConnectAsync("alice", "bob", SlowLink);
        var id = (await hosts.Transfers(sender).SendFileAsync(path)).TransferId;
        await hosts.Events(receiver).WaitForAsync<TransferProgressed>(e => e.Progress.BytesTransferred >= Size / 5);
        await link.DisconnectAsync();
        await hosts.Events("alice").WaitForAsync<TransferPaused>();

        var toCarol = await hosts.ConnectAsync("alice", "carol", SlowLink);
        await hosts.Transfers("alice").CancelAsync(id);
        await ChatRoundTripAsync(hosts, "alice", toCarol);

        Assert.DoesNotContain(toCarol.SentA, f => f.TransferId == id);
        Assert.Empty(hosts.Transfers("carol").GetTransfers());
        await toCarol.DisconnectAsync();

        await hosts.ConnectAsync("alice", "bob", SlowLink);
        var atBob = Assert.IsType<TransferCancelled>(await hosts.Events("bob").WaitForEndAsync(id));
        Assert.True(atBob.ByPeer);
        if (!bySender)
        {
            // Alice was the receiver: her partial file is gone, Bob's copy of the source is untouched.
            Assert.Empty(await TransferTests.ListStoredAsync(hosts["alice"].Services.GetRequiredService<IFileStore>()));
        }
        else
        {
            Assert.Empty(await TransferTests.ListStoredAsync(hosts["bob"].Services.GetRequiredService<IFileStore>()));
        }
    }

    [Fact]
    public async Task AnotherPeerReoffersTheIdOfAPausedIncomingTransfer_IsRejected_ItsChunksAreNotStored_AndTheOwnerResumes()
    {
        await using var hosts = new PeerHosts();
        var carol = new RawPeer();
        hosts.Add("alice", Side(true));
        hosts.Add("bob", Side(false));
        hosts.Add("carol", RawPeer.Side(carol));
        var content = PatternStream.Bytes(Size, 3);
        var path = hosts.Folder.Combine("from-bob.bin");
        await File.WriteAllBytesAsync(path, content);
        var toBob = await hosts.ConnectAsync("alice", "bob", SlowLink);
        var id = (await hosts.Transfers("bob").SendFileAsync(path)).TransferId;
        await hosts.Events("alice").WaitForAsync<TransferProgressed>(e => e.Progress.BytesTransferred >= Size / 5);
        await toBob.DisconnectAsync();
        var paused = await hosts.Events("alice").WaitForAsync<TransferPaused>();
        var files = hosts["alice"].Services.GetRequiredService<IFileStore>();
        var fileId = paused.Transfer.FileId!;
        var heldBefore = (await files.GetInfoAsync(fileId))!.Length;

        // Carol knows Bob's transfer id (and even the file's hash) and offers "the same" file with other bytes.
        var toCarol = await hosts.ConnectAsync("alice", "carol");
        carol.Session = toCarol.SessionB;
        var forged = new byte[Size];
        var startedBefore = hosts.Events("alice").Events.Count(e => e is TransferStarted && e.Transfer.TransferId == id);
        await carol.SendAsync(TransferFrameKinds.Offer, RawPeer.Offer(content, id, "from-bob.bin", Chunk));
        var reject = await carol.ExpectAsync<RejectFrame>(TransferFrameKinds.Reject);
        Assert.Equal(id, reject.TransferId);
        Assert.Equal("this transfer cannot be resumed here; send the file again", reject.Reason);
        await carol.SendChunkAsync(id, heldBefore / Chunk, forged.AsSpan(0, Chunk));
        await carol.SendAsync(TransferFrameKinds.End, new EndFrame { TransferId = id, BytesSent = Size });
        var unknown = await carol.ExpectAsync<CancelFrame>(TransferFrameKinds.Cancel);
        Assert.Equal(id, unknown.TransferId);

        Assert.True(await carol.IsQuietAsync());
        Assert.Equal(heldBefore, (await files.GetInfoAsync(fileId))!.Length);
        var atAlice = hosts.Transfers("alice").GetTransfers().Single(t => t.TransferId == id);
        Assert.Equal((TransferState.Paused, "bob"), (atAlice.State, atAlice.PeerId));
        Assert.Equal(startedBefore, hosts.Events("alice").Events.Count(e => e is TransferStarted && e.Transfer.TransferId == id));
        await toCarol.DisconnectAsync();

        await hosts.ConnectAsync("alice", "bob", SlowLink);
        var done = Assert.IsType<TransferCompleted>(await hosts.Events("alice").WaitForEndAsync(id));
        Assert.Equal(content, await TransferTests.ReadStoredAsync(files, done.Transfer.FileId!));
    }

    [Fact]
    public async Task AnotherPeerAcceptsTheIdOfAPausedOutgoingTransfer_NothingIsStreamedToIt()
    {
        await using var hosts = new PeerHosts();
        var carol = new RawPeer();
        hosts.Add("alice", Side(false));
        hosts.Add("bob", Side(true));
        hosts.Add("carol", RawPeer.Side(carol));
        var path = hosts.Folder.WritePatternFile("secret.bin", Size);
        var toBob = await hosts.ConnectAsync("alice", "bob", SlowLink);
        var id = (await hosts.Transfers("alice").SendFileAsync(path)).TransferId;
        await hosts.Events("bob").WaitForAsync<TransferProgressed>(e => e.Progress.BytesTransferred >= Size / 5);
        await toBob.DisconnectAsync();
        await hosts.Events("alice").WaitForAsync<TransferPaused>();
        var sent = hosts.Service("alice").ChunksSent(id);

        var toCarol = await hosts.ConnectAsync("alice", "carol");
        carol.Session = toCarol.SessionB;
        var messages = hosts["alice"].Services.GetRequiredService<IMessageStore>();
        var verifiedBefore = (await messages.GetTransferAsync(id))!.VerifiedBytes;
        await carol.SendAsync(TransferFrameKinds.Accept, new AcceptFrame { TransferId = id, ResumeOffset = 0 });
        await carol.SendAsync(TransferFrameKinds.Ack, new AckFrame { TransferId = id, VerifiedBytes = Size });
        await carol.SendAsync(TransferFrameKinds.Verify, new VerifyFrame { TransferId = id, Verified = true });
        await carol.SendAsync(TransferFrameKinds.Reject, new RejectFrame { TransferId = id, Reason = "no" });
        await carol.SendAsync(TransferFrameKinds.Cancel, new CancelFrame { TransferId = id, Reason = "stop" });
        await carol.SendAsync(TransferFrameKinds.Fail, new FailFrame { TransferId = id, Reason = "broken" });

        var unknown = await carol.ExpectAsync<CancelFrame>(TransferFrameKinds.Cancel);
        Assert.Equal(id, unknown.TransferId);
        Assert.True(await carol.IsQuietAsync());
        Assert.DoesNotContain(toCarol.SentA, f => f.Kind == TransferFrameKinds.Chunk.Value);
        Assert.Equal(sent, hosts.Service("alice").ChunksSent(id));
        Assert.Equal(TransferState.Paused, hosts.Transfers("alice").GetTransfers().Single(t => t.TransferId == id).State);
        Assert.Equal(verifiedBefore, (await messages.GetTransferAsync(id))!.VerifiedBytes);
        await toCarol.DisconnectAsync();

        // Bob still gets the rest.
        await hosts.ConnectAsync("alice", "bob", SlowLink);
        Assert.IsType<TransferCompleted>(await hosts.Events("bob").WaitForEndAsync(id));
    }

    [Fact]
    public async Task AnotherPeerCancelsOrFailsTheIdOfAPausedIncomingTransfer_PartialIsKeptForItsOwner()
    {
        await using var hosts = new PeerHosts();
        var carol = new RawPeer();
        hosts.Add("alice", Side(true));
        hosts.Add("bob", Side(false));
        hosts.Add("carol", RawPeer.Side(carol));
        var path = hosts.Folder.WritePatternFile("from-bob.bin", Size, 5);
        var toBob = await hosts.ConnectAsync("alice", "bob", SlowLink);
        var id = (await hosts.Transfers("bob").SendFileAsync(path)).TransferId;
        await hosts.Events("alice").WaitForAsync<TransferProgressed>(e => e.Progress.BytesTransferred >= Size / 5);
        await toBob.DisconnectAsync();
        var paused = await hosts.Events("alice").WaitForAsync<TransferPaused>();
        var files = hosts["alice"].Services.GetRequiredService<IFileStore>();
        var held = (await files.GetInfoAsync(paused.Transfer.FileId!))!.Length;

        var toCarol = await hosts.ConnectAsync("alice", "carol");
        carol.Session = toCarol.SessionB;
        await carol.SendAsync(TransferFrameKinds.Cancel, new CancelFrame { TransferId = id, Reason = "stop" });
        await carol.SendAsync(TransferFrameKinds.Fail, new FailFrame { TransferId = id, Reason = "broken" });
        await carol.SendAsync(TransferFrameKinds.End, new EndFrame { TransferId = id, BytesSent = Size });
        Assert.Equal(id, (await carol.ExpectAsync<CancelFrame>(TransferFrameKinds.Cancel)).TransferId);
        Assert.True(await carol.IsQuietAsync());

        Assert.Equal(TransferState.Paused, hosts.Transfers("alice").GetTransfers().Single(t => t.TransferId == id).State);
        Assert.Equal(held, (await files.GetInfoAsync(paused.Transfer.FileId!))!.Length);
        await toCarol.DisconnectAsync();
        await hosts.ConnectAsync("alice", "bob", SlowLink);
        var done = Assert.IsType<TransferCompleted>(await hosts.Events("alice").WaitForEndAsync(id));
        Assert.Equal(await File.ReadAllBytesAsync(path), await TransferTests.ReadStoredAsync(files, done.Transfer.FileId!));
    }

    [Fact]
    public async Task CancelWhileNoOneIsConnected_NextSessionWithAnotherPeer_GetsNoNotice_TheOwnerDoes()
    {
        await using var hosts = new PeerHosts();
        hosts.Add("alice", Side(false));
        hosts.Add("bob", Side(true));
        hosts.Add("carol", Side(true));
        var link = await hosts.ConnectAsync("alice", "bob", SlowLink);
        var id = (await hosts.Transfers("alice").SendFileAsync(hosts.Folder.WritePatternFile("file.bin", Size))).TransferId;
        await hosts.Events("bob").WaitForAsync<TransferProgressed>(e => e.Progress.BytesTransferred >= Size / 5);
        await link.DisconnectAsync();
        await hosts.Events("alice").WaitForAsync<TransferPaused>();
        await hosts.Transfers("alice").CancelAsync(id);

        var toCarol = await hosts.ConnectAsync("alice", "carol");
        await ChatRoundTripAsync(hosts, "alice", toCarol);
        Assert.DoesNotContain(toCarol.SentA, f => f.TransferId == id);
        await toCarol.DisconnectAsync();

        var back = await hosts.ConnectAsync("alice", "bob");
        Assert.True(Assert.IsType<TransferCancelled>(await hosts.Events("bob").WaitForEndAsync(id)).ByPeer);
        Assert.Contains(back.SentA, f => f.TransferId == id && f.Kind == TransferFrameKinds.Cancel.Value);
    }

    [Fact]
    public async Task AcceptAsync_OfferFromAnotherPeer_RefusedNamingBoth_AndNothingGoesToTheConnectedPeer()
    {
        await using var hosts = new PeerHosts();
        hosts.Add("alice", Side(false));
        hosts.Add("bob", Side(false));
        hosts.Add("carol", Side(false));
        var toBob = await hosts.ConnectAsync("alice", "bob");
        var id = (await hosts.Transfers("bob").SendFileAsync(hosts.Folder.WritePatternFile("f.bin", 5000))).TransferId;
        await hosts.Events("alice").WaitForAsync<TransferOffered>();
        await toBob.DisconnectAsync();
        var toCarol = await hosts.ConnectAsync("alice", "carol");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => hosts.Transfers("alice").AcceptAsync(id).AsTask());
        Assert.Contains("from bob, not from the connected peer carol", error.Message, StringComparison.Ordinal);
        await hosts.Transfers("alice").RejectAsync(id, "no thanks");
        await ChatRoundTripAsync(hosts, "alice", toCarol);
        Assert.DoesNotContain(toCarol.SentA, f => f.TransferId == id);
        await toCarol.DisconnectAsync();

        // The rejection reaches Bob when he is back.
        await hosts.ConnectAsync("alice", "bob");
        var atBob = Assert.IsType<TransferRejected>(await hosts.Events("bob").WaitForEndAsync(id));
        Assert.True(atBob.ByPeer);
    }

    [Fact]
    public async Task SendFileAsync_NoPeerConnectedAndNoneNamed_Throws_NamedPeerIsOfferedOnlyWhenItConnects()
    {
        await using var hosts = new PeerHosts();
        hosts.Add("alice", Side(false));
        hosts.Add("bob", Side(true));
        hosts.Add("carol", Side(true));
        var path = hosts.Folder.WritePatternFile("later.bin", 40_000);

        await Assert.ThrowsAsync<InvalidOperationException>(() => hosts.Transfers("alice").SendFileAsync(path).AsTask());
        var queued = await hosts.Transfers("alice").SendFileAsync(path, new SendFileOptions { PeerId = "bob" });
        Assert.Equal("bob", queued.PeerId);

        var toCarol = await hosts.ConnectAsync("alice", "carol");
        await ChatRoundTripAsync(hosts, "alice", toCarol);
        Assert.DoesNotContain(toCarol.SentA, f => f.TransferId == queued.TransferId);
        await toCarol.DisconnectAsync();
        await hosts.ConnectAsync("alice", "bob");
        Assert.IsType<TransferCompleted>(await hosts.Events("bob").WaitForEndAsync(queued.TransferId));
    }

    [Fact]
    public async Task RecordWithoutPeer_IsListedButNeverReoffered_AndResendOffersTheFileAnewToTheConnectedPeer()
    {
        await using var hosts = new PeerHosts();
        var path = hosts.Folder.WritePatternFile("old.bin", 100_000);
        // What a store migrated from before peers were recorded holds: an unfinished outgoing transfer, peer unknown.
        using (var seed = TestHosts.Build(hosts.Folder, "alice", Side(false)))
        {
            var messages = seed.Services.GetRequiredService<IMessageStore>();
            await messages.SaveTransferAsync(new TransferRecord
            {
                TransferId = "legacy-1",
                ConversationId = "unknown",
                Direction = Direction.Outgoing,
                FileName = "old.bin",
                Size = 100_000,
                MediaType = "application/octet-stream",
                ChunkSize = Chunk,
                Sha256 = System.Security.Cryptography.SHA256.HashData(await File.ReadAllBytesAsync(path)),
                State = TransferState.Paused,
                SourcePath = path,
                CreatedAt = DateTimeOffset.UtcNow,
                UpdatedAt = DateTimeOffset.UtcNow,
            });
        }

        hosts.Add("alice", Side(false));
        hosts.Add("bob", Side(true));
        var link = await hosts.ConnectAsync("alice", "bob");
        await ChatRoundTripAsync(hosts, "alice", link);

        Assert.DoesNotContain(link.SentA, f => f.TransferId == "legacy-1");
        var listed = hosts.Transfers("alice").GetTransfers().Single(t => t.TransferId == "legacy-1");
        Assert.Equal((TransferState.Paused, (string?)null), (listed.State, listed.PeerId));

        var resent = await hosts.Transfers("alice").ResendAsync("legacy-1");

        Assert.NotEqual("legacy-1", resent.TransferId);
        Assert.Equal(("bob", "old.bin"), (resent.PeerId, resent.FileName));
        Assert.IsType<TransferCompleted>(await hosts.Events("bob").WaitForEndAsync(resent.TransferId));
        var old = Assert.IsType<TransferCancelled>(await hosts.Events("alice").WaitForEndAsync("legacy-1"));
        Assert.Equal($"resent as {resent.TransferId}", old.Transfer.Reason);
        Assert.DoesNotContain(link.SentA, f => f.TransferId == "legacy-1");
    }

    [Fact]
    public async Task ResendAsync_UnfinishedTransferOfTheConnectedPeer_IsRefused_AnIncomingIdIsUnknown()
    {
        await using var hosts = new PeerHosts();
        hosts.Add("alice", Side(false));
        hosts.Add("bob", Side(false));
        await hosts.ConnectAsync("alice", "bob");
        var offered = await hosts.Transfers("alice").SendFileAsync(hosts.Folder.WritePatternFile("f.bin", 5000));
        await hosts.Events("bob").WaitForAsync<TransferOffered>();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => hosts.Transfers("alice").ResendAsync(offered.TransferId).AsTask());
        Assert.Contains("resumes by itself", error.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<KeyNotFoundException>(() => hosts.Transfers("bob").ResendAsync(offered.TransferId).AsTask());
        Assert.Single(hosts.Transfers("alice").GetTransfers());
    }

    /// <summary>
    /// A chat message from <paramref name="from"/> and its delivery receipt: everything its session queued before the
    /// message (re-offers, notices) is on the wire by then.
    /// </summary>
    private static async Task ChatRoundTripAsync(PeerHosts hosts, string from, PeerLink link)
    {
        var chat = hosts[from].Services.GetRequiredService<IChatService>();
        var delivered = new System.Collections.Concurrent.ConcurrentDictionary<string, TaskCompletionSource>(StringComparer.Ordinal);
        TaskCompletionSource For(string id) => delivered.GetOrAdd(id, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        void OnChat(object? sender, ChatEvent e)
        {
            if (e is ChatMessageDelivered d)
            {
                For(d.MessageId).TrySetResult();
            }
        }

        chat.ChatChanged += OnChat;
        try
        {
            var sent = await chat.SendAsync("are you there?");
            await For(sent.MessageId).Task.WaitAsync(TimeSpan.FromSeconds(15));
        }
        finally
        {
            chat.ChatChanged -= OnChat;
        }

        Assert.False(link.SessionA.Ended.IsCancellationRequested);
    }
}
