using MessagePack;
using Messenger.Contracts.Framing;
using Messenger.Host.Framing;

namespace Messenger.Host.Tests;

/// <summary>
/// Each handler has its own inbox: a slow handler (a file being written) never delays another's frames (chat), its
/// own frames stay in order, a full inbox pauses reading instead of dropping, and frames received before the channel
/// closed are all handled.
/// </summary>
public class HandlerInboxTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private static byte[] Body(int value) => MessagePackSerializer.Serialize(value);

    [Fact]
    public async Task ChatFrame_IsHandled_WhileAnotherHandlerIsStuckOnEarlierFrames()
    {
        var slow = new GatedHandler("files", 10);
        var chat = new RecordingHandler("chat", 20);
        await using var pair = await SessionPair.StartAsync([], [slow, chat]);

        for (var i = 0; i < 3; i++)
        {
            await pair.A.SendAsync(new FrameKind(10), Body(i));
        }

        await pair.A.SendAsync(new FrameKind(20), Body(99));
        await slow.Entered.WaitAsync(Wait);

        // The chat frame came after three file frames, and the file handler has not finished the first of them.
        var (kind, body) = await chat.NextAsync();
        Assert.Equal(20, kind.Value);
        Assert.Equal(99, MessagePackSerializer.Deserialize<int>(body));
        Assert.Empty(slow.Handled);

        slow.Open();
        await slow.WaitForAsync(3);
        Assert.Equal([0, 1, 2], slow.Handled);
    }

    [Fact]
    public async Task FullInbox_PausesReading_AndDropsNothing()
    {
        var slow = new GatedHandler("files", 10);
        var chat = new RecordingHandler("chat", 20);
        await using var pair = await SessionPair.StartAsync([], [slow, chat], framing: new FramingOptions { HandlerQueueCapacity = 2 });

        for (var i = 0; i < 10; i++)
        {
            await pair.A.SendAsync(new FrameKind(10), Body(i));
        }

        await pair.A.SendAsync(new FrameKind(20), Body(99));
        await slow.Entered.WaitAsync(Wait);

        // One frame in the handler and two in its inbox: the session stops reading there, so the chat frame behind
        // the other seven waits (the bound is for floods; the transport's window normally binds first).
        await Task.Delay(200);
        Assert.Equal(0, pair.B.Statistics.Delivered);
        Assert.True(pair.B.Statistics.Received <= 4, $"read {pair.B.Statistics.Received} frames past a full inbox");

        slow.Open();
        var (kind, _) = await chat.NextAsync();
        Assert.Equal(20, kind.Value);
        await slow.WaitForAsync(10);
        Assert.Equal(Enumerable.Range(0, 10), slow.Handled);
        Assert.Equal(0, pair.B.Statistics.Malformed + pair.B.Statistics.UnknownKind + pair.B.Statistics.HandlerFailed);
    }

    [Fact]
    public async Task FramesReceivedBeforeTheChannelCloses_AreAllHandled_BeforeTheSessionEnds()
    {
        var slow = new GatedHandler("files", 10);
        await using var pair = await SessionPair.StartAsync([], [slow]);
        for (var i = 0; i < 5; i++)
        {
            await pair.A.SendAsync(new FrameKind(10), Body(i));
        }

        await slow.Entered.WaitAsync(Wait);
        await pair.Channels.A.CloseAsync();
        await Task.Delay(100);
        Assert.False(pair.RunB.IsCompleted, "the session ended with frames still queued");

        slow.Open();
        await pair.RunB.WaitAsync(Wait);
        Assert.Equal([0, 1, 2, 3, 4], slow.Handled);
    }

    /// <summary>Blocks on its first frame until opened, then handles everything; records bodies in handling order.</summary>
    private sealed class GatedHandler(string name, int kind) : IFrameHandler
    {
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly List<int> _handled = [];
        private readonly SemaphoreSlim _done = new(0);
        private int _waited;

        public string Name { get; } = name;

        public IReadOnlyCollection<FrameKind> Kinds { get; } = [new FrameKind(kind)];

        public Task Entered => _entered.Task;

        public IReadOnlyList<int> Handled
        {
            get
            {
                lock (_handled)
                {
                    return [.. _handled];
                }
            }
        }

        public void Open() => _gate.TrySetResult();

        /// <summary>Until <paramref name="count"/> frames in all have been handled.</summary>
        public async Task WaitForAsync(int count)
        {
            for (; _waited < count; _waited++)
            {
                Assert.True(await _done.WaitAsync(Wait), $"only {Handled.Count} of {count} frames were handled");
            }
        }

        public async ValueTask HandleFrameAsync(IPeerSession session, FrameKind kind, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
        {
            _entered.TrySetResult();
            var value = MessagePackSerializer.Deserialize<int>(body, cancellationToken: CancellationToken.None);
            await _gate.Task.WaitAsync(cancellationToken);
            lock (_handled)
            {
                _handled.Add(value);
            }

            _done.Release();
        }
    }
}
