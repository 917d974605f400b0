using MessagePack;
using Messenger.Contracts.Chat;
using Messenger.Contracts.Framing;
using Messenger.Contracts.Storage;
using Messenger.Host.Chat;
using Messenger.Host.Framing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Messenger.Host.Tests;

/// <summary>What one peer may do to this side: chat rate and volume, malformed frames; over the hard bound the session closes with a reason both sides see.</summary>
public class PeerLimitTests
{
    [Fact]
    public void ChatAllowance_BurstThenRate_ThenTheHourlyWindow()
    {
        var time = new FakeTimeProvider();
        var allowance = new ChatAllowance(new ChatLimits { MessagesPerSecond = 2, MessageBurst = 3, MaxStoredPerConversationPerHour = 5 }, time);

        Assert.Null(allowance.TryTake());
        Assert.Null(allowance.TryTake());
        Assert.Null(allowance.TryTake());
        Assert.Contains("more than 2 messages per second", allowance.TryTake(), StringComparison.Ordinal);
        time.Advance(TimeSpan.FromSeconds(1)); // two more tokens
        Assert.Null(allowance.TryTake());
        Assert.Null(allowance.TryTake());
        time.Advance(TimeSpan.FromSeconds(10)); // the bucket is full again, but the hour's five are used
        Assert.Contains("more than 5 messages in an hour", allowance.TryTake(), StringComparison.Ordinal);
        Assert.Equal(2, allowance.Refused);
        time.Advance(TimeSpan.FromHours(1));
        Assert.Null(allowance.TryTake());
    }

    [Fact]
    public async Task ChatFlood_IsRefusedPastTheBurst_NothingRefusedIsStored_ChatTheOtherWayStaysResponsive_ThenTheSessionClosesWithTheReason()
    {
        var storeB = new InMemoryMessageStore();
        var stores = new Queue<IMessageStoreHolder>([new(null), new(storeB)]);
        await using var pair = await HostPair.StartAsync(configure: s =>
        {
            var holder = stores.Dequeue();
            if (holder.Store is { } store)
            {
                s.AddSingleton<IMessageStore>(store);
            }

            s.Configure<ChatLimits>(l => (l.MessageBurst, l.MessagesPerSecond, l.MaxRefusedPerSession) = (50, 1, 200));
        });
        var chatA = pair.A.Services.GetRequiredService<IChatService>();
        var chatB = pair.B.Services.GetRequiredService<IChatService>();
        var refused = 0;
        var receivedByA = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        chatA.ChatChanged += (_, e) =>
        {
            switch (e)
            {
                case ChatMessageRefused r when r.Reason.Contains("messages per second", StringComparison.Ordinal):
                    Interlocked.Increment(ref refused);
                    break;
                case ChatMessageReceived m:
                    receivedByA.TrySetResult(m.Message.Text);
                    break;
            }
        };

        // Alice floods; Bob's own chat still reaches her while his side refuses hers.
        var flooded = 0;
        try
        {
            for (; flooded < 120; flooded++)
            {
                await chatA.SendAsync($"flood {flooded}");
            }

            await chatB.SendAsync("bob is still here");
            Assert.Equal("bob is still here", await receivedByA.Task.WaitAsync(TimeSpan.FromSeconds(10)));
            await WaitUntilAsync(() => Volatile.Read(ref refused) >= 60);
            Assert.InRange(storeB.Messages.Count, 50, 55); // the burst (and what a second or so refilled), never the flood

            for (; flooded < 400; flooded++)
            {
                await chatA.SendAsync($"flood {flooded}");
            }
        }
        catch (InvalidOperationException)
        {
            // The session closed under the flood: that is the hard bound.
        }

        await WaitEndedAsync(pair.SessionA.Ended);
        Assert.Contains("faster than this side accepts", pair.SessionB.CloseReason, StringComparison.Ordinal);
        Assert.Equal(pair.SessionB.CloseReason, pair.SessionA.RemoteCloseReason);
        Assert.InRange(storeB.Messages.Count(m => m.Direction == Direction.Incoming), 50, 55);
    }

    [Fact]
    public async Task MalformedFrames_PastTheHardBound_CloseTheSession_WithTheReasonAtThePeer()
    {
        await using var pair = await HostPair.StartAsync(configure: s => s.Configure<FramingOptions>(o => o.MaxMalformedFramesPerSession = 50));
        var garbage = MessagePackSerializer.Serialize("not a chat message");

        for (var i = 0; i < 60 && !pair.SessionA.Ended.IsCancellationRequested; i++)
        {
            try
            {
                await pair.SessionA.SendAsync(HostFrameKinds.ChatMessage, garbage);
            }
            catch (Messenger.Contracts.Channels.DataChannelClosedException)
            {
                break;
            }
        }

        await WaitEndedAsync(pair.SessionA.Ended);
        Assert.Equal("the peer sent more than 50 malformed frames", pair.SessionB.CloseReason);
        Assert.Equal(pair.SessionB.CloseReason, pair.SessionA.RemoteCloseReason);
        Assert.InRange(pair.SessionB.Statistics.Malformed, 51, 60); // those already on their way when it closed are still counted
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!condition())
        {
            await Task.Delay(10, timeout.Token);
        }
    }

    private static async Task WaitEndedAsync(CancellationToken ended)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = ended.Register(() => done.TrySetResult());
        await done.Task.WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None);
    }

    private sealed record IMessageStoreHolder(InMemoryMessageStore? Store);
}
