using Messenger.Contracts.Storage;

namespace Messenger.Plugins.Storage.Tests;

/// <summary>The behaviour every <see cref="IMessageStore"/> must show; each store's test class derives from this.</summary>
public abstract class MessageStoreConformanceTests : StoreTestBase
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 12, 0, 0, TimeSpan.FromHours(2));

    protected static StoredMessage Message(string id, string conversation, int minute, string? text = null) => new()
    {
        MessageId = id,
        ConversationId = conversation,
        Direction = minute % 2 == 0 ? Direction.Outgoing : Direction.Incoming,
        SentAt = Start.AddMinutes(minute),
        Text = text ?? $"text of {id}",
    };

    protected static TransferRecord Transfer(string id, int minute, TransferState state = TransferState.InProgress) => new()
    {
        TransferId = id,
        ConversationId = "alice",
        PeerId = "alice",
        Direction = Direction.Incoming,
        FileName = $"{id}.jpg",
        Size = 5_000_000_000,
        MediaType = "image/jpeg",
        ChunkSize = 65536,
        Sha256 = [.. Enumerable.Range(0, 32).Select(i => (byte)(i + minute))],
        State = state,
        VerifiedBytes = 1234567,
        FileId = id + "-file",
        SourcePath = null,
        ChatMessageId = "m-" + id,
        Reason = state == TransferState.Failed ? "peer vanished" : null,
        CreatedAt = Start.AddMinutes(minute),
        UpdatedAt = Start.AddMinutes(minute + 1),
    };

    [Fact]
    public async Task AddMessage_New_RoundTripsEveryField()
    {
        var message = Message("m1", "alice", 1, "héllo 👋") with
        {
            DeliveredAt = Start.AddMinutes(2).ToOffset(TimeSpan.FromHours(-5)),
            AttachmentTransferId = "t1",
        };

        Assert.True(await Store.Messages.AddMessageAsync(message));
        var stored = await Store.Messages.GetMessageAsync("m1");

        Assert.Equal(message, stored);
        Assert.Equal(message.SentAt.Offset, stored!.SentAt.Offset);
        Assert.Equal(message.DeliveredAt!.Value.Offset, stored.DeliveredAt!.Value.Offset);
    }

    [Fact]
    public async Task AddMessage_SameIdTwice_SecondReturnsFalseAndKeepsFirst()
    {
        Assert.True(await Store.Messages.AddMessageAsync(Message("m1", "alice", 1, "first")));
        Assert.False(await Store.Messages.AddMessageAsync(Message("m1", "alice", 5, "second")));

        Assert.Equal("first", (await Store.Messages.GetMessageAsync("m1"))!.Text);
        var conversation = Assert.Single(await Store.Messages.GetConversationsAsync().ToListAsync());
        Assert.Equal(1, conversation.MessageCount);
    }

    [Fact]
    public async Task GetMessage_Unknown_ReturnsNull()
    {
        Assert.Null(await Store.Messages.GetMessageAsync("nope"));
    }

    [Fact]
    public async Task GetMessages_Limit_ReturnsNewestOldestFirst()
    {
        // Added out of order: ordering must come from SentAt, not insertion.
        foreach (var minute in new[] { 5, 1, 4, 2, 3 })
        {
            await Store.Messages.AddMessageAsync(Message($"m{minute}", "alice", minute));
        }

        var page = await Store.Messages.GetMessagesAsync("alice", 3).ToListAsync();

        Assert.Equal(["m3", "m4", "m5"], page.Select(m => m.MessageId));
    }

    [Fact]
    public async Task GetMessages_Before_ReturnsOnlyStrictlyEarlier()
    {
        for (var minute = 1; minute <= 6; minute++)
        {
            await Store.Messages.AddMessageAsync(Message($"m{minute}", "alice", minute));
        }

        var page = await Store.Messages.GetMessagesAsync("alice", 2, before: Start.AddMinutes(4)).ToListAsync();
        var all = await Store.Messages.GetMessagesAsync("alice", 100, before: Start.AddMinutes(4)).ToListAsync();

        Assert.Equal(["m2", "m3"], page.Select(m => m.MessageId));
        Assert.Equal(["m1", "m2", "m3"], all.Select(m => m.MessageId));
    }

    [Fact]
    public async Task GetMessages_OtherConversationsAndZeroLimit_AreNotReturned()
    {
        await Store.Messages.AddMessageAsync(Message("a1", "alice", 1));
        await Store.Messages.AddMessageAsync(Message("b1", "bob", 2));

        Assert.Equal(["a1"], (await Store.Messages.GetMessagesAsync("alice", 10).ToListAsync()).Select(m => m.MessageId));
        Assert.Empty(await Store.Messages.GetMessagesAsync("alice", 0).ToListAsync());
        Assert.Empty(await Store.Messages.GetMessagesAsync("carol", 10).ToListAsync());
    }

    [Fact]
    public async Task GetMessages_SameSentAt_KeepsInsertionOrder()
    {
        await Store.Messages.AddMessageAsync(Message("x", "alice", 1));
        await Store.Messages.AddMessageAsync(Message("y", "alice", 1));
        await Store.Messages.AddMessageAsync(Message("z", "alice", 1));

        Assert.Equal(["x", "y", "z"], (await Store.Messages.GetMessagesAsync("alice", 10).ToListAsync()).Select(m => m.MessageId));
    }

    [Fact]
    public async Task MarkDelivered_SetsDeliveredAtAndReportsUnknownIds()
    {
        await Store.Messages.AddMessageAsync(Message("m1", "alice", 1));
        var at = Start.AddMinutes(3);

        Assert.True(await Store.Messages.MarkDeliveredAsync("m1", at));
        Assert.False(await Store.Messages.MarkDeliveredAsync("missing", at));
        Assert.Equal(at, (await Store.Messages.GetMessageAsync("m1"))!.DeliveredAt);
    }

    [Fact]
    public async Task GetConversations_MostRecentFirstWithCounts()
    {
        await Store.Messages.AddMessageAsync(Message("a1", "alice", 1));
        await Store.Messages.AddMessageAsync(Message("b1", "bob", 2));
        await Store.Messages.AddMessageAsync(Message("a2", "alice", 9));
        await Store.Messages.AddMessageAsync(Message("a0", "alice", 0));
        await Store.Messages.AddMessageAsync(Message("c1", "carol", 5));

        var conversations = await Store.Messages.GetConversationsAsync().ToListAsync();

        Assert.Equal(
            [new ConversationSummary("alice", 3, Start.AddMinutes(9)), new ConversationSummary("carol", 1, Start.AddMinutes(5)), new ConversationSummary("bob", 1, Start.AddMinutes(2))],
            conversations);
    }

    [Fact]
    public async Task SaveTransfer_InsertThenReplace_RoundTripsEveryField()
    {
        var record = Transfer("t1", 1);
        await Store.Messages.SaveTransferAsync(record);
        Assert.Equal(record, await Store.Messages.GetTransferAsync("t1"), TransferComparer.Instance);

        var updated = record with { State = TransferState.Failed, VerifiedBytes = 9_000_000_000, Reason = "disk full", SourcePath = "/home/a/x.jpg", UpdatedAt = Start.AddHours(1) };
        await Store.Messages.SaveTransferAsync(updated);

        Assert.Equal(updated, await Store.Messages.GetTransferAsync("t1"), TransferComparer.Instance);
        Assert.Single(await Store.Messages.GetTransfersAsync().ToListAsync());
    }

    [Fact]
    public async Task SaveTransfer_WithoutPeer_ReadsBackWithoutPeer()
    {
        var record = Transfer("t1", 1) with { PeerId = null };
        await Store.Messages.SaveTransferAsync(record);

        var stored = await Store.Messages.GetTransferAsync("t1");
        Assert.Null(stored!.PeerId);
        Assert.Equal(record, stored, TransferComparer.Instance);
    }

    [Fact]
    public async Task GetTransfers_NewestFirst_AndDeleteRemovesOne()
    {
        await Store.Messages.SaveTransferAsync(Transfer("old", 1));
        await Store.Messages.SaveTransferAsync(Transfer("new", 3));
        await Store.Messages.SaveTransferAsync(Transfer("mid", 2));

        Assert.Equal(["new", "mid", "old"], (await Store.Messages.GetTransfersAsync().ToListAsync()).Select(t => t.TransferId));
        Assert.True(await Store.Messages.DeleteTransferAsync("mid"));
        Assert.False(await Store.Messages.DeleteTransferAsync("mid"));
        Assert.Null(await Store.Messages.GetTransferAsync("mid"));
        Assert.Equal(["new", "old"], (await Store.Messages.GetTransfersAsync().ToListAsync()).Select(t => t.TransferId));
    }

    [Fact]
    public async Task Reopen_KeepsMessagesConversationsAndTransfers()
    {
        await Store.Messages.AddMessageAsync(Message("m1", "alice", 1));
        await Store.Messages.SaveTransferAsync(Transfer("t1", 1));

        await ReopenAsync();

        Assert.Equal("text of m1", (await Store.Messages.GetMessageAsync("m1"))!.Text);
        Assert.Equal(Transfer("t1", 1), await Store.Messages.GetTransferAsync("t1"), TransferComparer.Instance);
        Assert.Equal(1, Assert.Single(await Store.Messages.GetConversationsAsync().ToListAsync()).MessageCount);
    }

    [Fact]
    public async Task AddMessage_ManyConcurrentWriters_StoresEachOnce()
    {
        // Eight writers race, each adding 50 messages, half of them ids another writer also adds.
        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(writer => Task.Run(async () =>
        {
            var added = 0;
            for (var i = 0; i < 50; i++)
            {
                var id = i % 2 == 0 ? $"shared-{i}" : $"w{writer}-{i}";
                added += await Store.Messages.AddMessageAsync(Message(id, $"peer{writer % 2}", i)) ? 1 : 0;
            }

            return added;
        })));

        Assert.Equal((8 * 25) + 25, results.Sum());
        var conversations = await Store.Messages.GetConversationsAsync().ToListAsync();
        Assert.Equal((8 * 25) + 25, conversations.Sum(c => c.MessageCount));
        var stored = (await Store.Messages.GetMessagesAsync("peer0", 1000).ToListAsync()).Concat(await Store.Messages.GetMessagesAsync("peer1", 1000).ToListAsync());
        Assert.Equal((8 * 25) + 25, stored.Select(m => m.MessageId).Distinct().Count());
    }

    /// <summary>Records hold a byte array, which record equality compares by reference.</summary>
    private sealed class TransferComparer : IEqualityComparer<TransferRecord?>
    {
        public static TransferComparer Instance { get; } = new();

        public bool Equals(TransferRecord? x, TransferRecord? y) =>
            x is not null && y is not null && x.Sha256.AsSpan().SequenceEqual(y.Sha256) && (x with { Sha256 = Array.Empty<byte>() }) == (y with { Sha256 = Array.Empty<byte>() });

        public int GetHashCode(TransferRecord? obj) => obj?.TransferId.GetHashCode(StringComparison.Ordinal) ?? 0;
    }
}
