using MessagePack;
using Messenger.Contracts.Chat;
using Messenger.Contracts.Storage;
using Messenger.Host.Chat;
using Microsoft.Extensions.DependencyInjection;

namespace Messenger.Host.Tests;

public class ChatTests
{
    [Fact]
    public async Task Chat_RoundTrip_IsReceivedStoredAndAcknowledged()
    {
        var storeA = new InMemoryMessageStore();
        var storeB = new InMemoryMessageStore();
        var stores = new Queue<InMemoryMessageStore>([storeA, storeB]);
        await using var pair = await HostPair.StartAsync(configure: s => s.AddSingleton<IMessageStore>(stores.Dequeue()));
        var chatA = pair.A.Services.GetRequiredService<IChatService>();
        var chatB = pair.B.Services.GetRequiredService<IChatService>();
        using var watch = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await using var eventsA = chatA.WatchAsync(watch.Token).GetAsyncEnumerator(watch.Token);
        await using var eventsB = chatB.WatchAsync(watch.Token).GetAsyncEnumerator(watch.Token);

        // Watching starts at the first MoveNextAsync: start both before sending.
        var nextB = eventsB.MoveNextAsync().AsTask();
        var nextA = eventsA.MoveNextAsync().AsTask();
        var sent = await chatA.SendAsync("hello, B ✓");

        Assert.True(await nextB);
        var received = Assert.IsType<ChatMessageReceived>(eventsB.Current).Message;
        Assert.Equal(sent.MessageId, received.MessageId);
        Assert.Equal("hello, B ✓", received.Text);
        Assert.Equal(Direction.Incoming, received.Direction);
        Assert.Equal(sent.SentAt.ToUnixTimeMilliseconds(), received.SentAt.ToUnixTimeMilliseconds());

        Assert.True(await nextA);
        var delivered = Assert.IsType<ChatMessageDelivered>(eventsA.Current);
        Assert.Equal(sent.MessageId, delivered.MessageId);
        Assert.True(delivered.RoundTrip >= TimeSpan.Zero);

        var storedAtA = Assert.Single(storeA.Messages);
        Assert.Equal(Direction.Outgoing, storedAtA.Direction);
        Assert.NotNull(storedAtA.DeliveredAt);
        Assert.Equal("peer-b", storedAtA.ConversationId);
        var storedAtB = Assert.Single(storeB.Messages);
        Assert.Equal(Direction.Incoming, storedAtB.Direction);
        Assert.Equal("peer-a", storedAtB.ConversationId);
    }

    [Fact]
    public async Task Chat_ManyMessagesBothWays_AllArriveInOrder()
    {
        await using var pair = await HostPair.StartAsync();
        var chatA = pair.A.Services.GetRequiredService<IChatService>();
        var chatB = pair.B.Services.GetRequiredService<IChatService>();
        using var watch = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var receivedByB = CollectTexts(chatB, 100, watch.Token);
        var receivedByA = CollectTexts(chatA, 100, watch.Token);

        for (var i = 0; i < 100; i++)
        {
            await chatA.SendAsync($"a{i}");
            await chatB.SendAsync($"b{i}");
        }

        Assert.Equal(Enumerable.Range(0, 100).Select(i => $"a{i}"), await receivedByB);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => $"b{i}"), await receivedByA);
    }

    [Fact]
    public async Task DuplicateMessage_IsShownOnce_AndAcknowledgedAgain()
    {
        await using var pair = await HostPair.StartAsync(configure: s => s.AddSingleton<IMessageStore>(new InMemoryMessageStore()));
        var chatB = pair.B.Services.GetRequiredService<IChatService>();
        var received = new List<ChatEvent>();
        chatB.ChatChanged += (_, e) => received.Add(e);
        var body = MessagePackSerializer.Serialize(new ChatMessageFrame { Id = "dup", Text = "once", SentAtUnixMilliseconds = 1 });

        await pair.SessionA.SendAsync(HostFrameKinds.ChatMessage, body);
        await pair.SessionA.SendAsync(HostFrameKinds.ChatMessage, body);
        await pair.SessionA.SendAsync(HostFrameKinds.ChatMessage, MessagePackSerializer.Serialize(new ChatMessageFrame { Id = "next", Text = "n", SentAtUnixMilliseconds = 2 }));
        await WaitUntilAsync(() => received.Count >= 2);

        Assert.Equal(["dup", "next"], received.Cast<ChatMessageReceived>().Select(r => r.Message.MessageId));
        await WaitUntilAsync(() => pair.SessionB.SendCounters.InteractiveFrames == 3);
    }

    [Theory]
    [InlineData("91 a1 78")]
    [InlineData("94 c0 01 a1 78 c0")]
    [InlineData("94 a1 78 a1 78 a1 78 c0")]
    [InlineData("94 a1 78 cf 7f ff ff ff ff ff ff ff a1 78 c0")]
    public async Task MalformedChatBody_IsRejected_AndChatKeepsWorking(string bodyHex)
    {
        await using var pair = await HostPair.StartAsync();
        var chatA = pair.A.Services.GetRequiredService<IChatService>();
        var chatB = pair.B.Services.GetRequiredService<IChatService>();
        using var watch = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var texts = CollectTexts(chatB, 1, watch.Token);

        await pair.SessionA.SendAsync(HostFrameKinds.ChatMessage, Convert.FromHexString(bodyHex.Replace(" ", "", StringComparison.Ordinal)));
        await chatA.SendAsync("still here");

        Assert.Equal(["still here"], await texts);
        Assert.Equal(1, pair.SessionB.Statistics.Malformed);
    }

    [Fact]
    public async Task Send_EmptyOrOversizedText_IsRefused_AndWithoutSession_SaysConnectFirst()
    {
        await using var pair = await HostPair.StartAsync();
        var chat = pair.A.Services.GetRequiredService<IChatService>();
        await Assert.ThrowsAsync<ArgumentException>(async () => await chat.SendAsync(""));
        await Assert.ThrowsAsync<ArgumentException>(async () => await chat.SendAsync(new string('x', chat.MaxTextBytes + 1)));

        pair.Channels.Disconnect();
        await WaitUntilAsync(() => pair.SessionA.Ended.IsCancellationRequested);
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(async () => await chat.SendAsync("anyone?"));
        Assert.Contains("connect", ex.Message, StringComparison.OrdinalIgnoreCase);
    }

    private static async Task<List<string>> CollectTexts(IChatService chat, int count, CancellationToken cancellationToken)
    {
        var texts = new List<string>();
        await foreach (var chatEvent in chat.WatchAsync(cancellationToken))
        {
            if (chatEvent is ChatMessageReceived received)
            {
                texts.Add(received.Message.Text);
                if (texts.Count == count)
                {
                    break;
                }
            }
        }

        return texts;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        // Test-side wait for an effect on another task; bounded, never part of product code.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!condition())
        {
            await Task.Delay(5, timeout.Token);
        }
    }
}
