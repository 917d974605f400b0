using MessagePack;
using Messenger.Contracts.Framing;
using Messenger.Host.Framing;

namespace Messenger.Host.Tests;

public class RoutingTests
{
    private static byte[] Body(object value) => MessagePackSerializer.Serialize(value);

    [Fact]
    public async Task Frames_AreRoutedToTheirOwner_WithBodyIntact()
    {
        var first = new RecordingHandler("first", 10, 11);
        var second = new RecordingHandler("second", 1000);
        await using var pair = await SessionPair.StartAsync([], [first, second]);

        await pair.A.SendAsync(new FrameKind(1000), Body("to second"));
        await pair.A.SendAsync(new FrameKind(11), Body(new[] { 1, 2, 3 }));

        var toSecond = await second.NextAsync();
        Assert.Equal("to second", MessagePackSerializer.Deserialize<string>(toSecond.Body));
        var toFirst = await first.NextAsync();
        Assert.Equal(11, toFirst.Kind.Value);
        Assert.Equal([1, 2, 3], MessagePackSerializer.Deserialize<int[]>(toFirst.Body));
    }

    [Fact]
    public async Task UnknownKind_IsCountedAndDropped_ChannelStaysUsable()
    {
        var handler = new RecordingHandler("known", 10);
        await using var pair = await SessionPair.StartAsync([], [handler]);

        await pair.A.SendAsync(new FrameKind(4242), Body("from the future"));
        await pair.A.SendAsync(new FrameKind(10), Body("after"));

        Assert.Equal("after", MessagePackSerializer.Deserialize<string>((await handler.NextAsync()).Body));
        Assert.Equal(1, pair.B.Statistics.UnknownKind);
        Assert.Equal(0, pair.B.Statistics.Malformed);
    }

    [Theory]
    [InlineData("c0")]
    [InlineData("92 01")]
    [InlineData("92 0a a9 74 72 75 6e 63")]
    [InlineData("94 0a c0 c0 c0")]
    public async Task MalformedFrame_IsCountedAndDropped_ChannelStaysUsable(string hex)
    {
        var handler = new RecordingHandler("known", 10);
        await using var pair = await SessionPair.StartAsync([], [handler]);
        var rejections = new List<FrameRejection>();
        pair.B.FrameRejected += (_, r) => rejections.Add(r);

        pair.Channels.A.Send(Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal)));
        await pair.A.SendAsync(new FrameKind(10), Body("after"));

        Assert.Equal("after", MessagePackSerializer.Deserialize<string>((await handler.NextAsync()).Body));
        Assert.Equal(1, pair.B.Statistics.Malformed);
        var rejection = Assert.Single(rejections);
        Assert.Equal(FrameRejectionReason.Malformed, rejection.Reason);
    }

    [Fact]
    public async Task OversizedFrame_IsDropped_ChannelStaysUsable()
    {
        var handler = new RecordingHandler("known", 10);
        await using var pair = await SessionPair.StartAsync([], [handler], framing: new FramingOptions { MaxReceivedFrameSize = 1024 });

        await pair.A.SendAsync(new FrameKind(10), Body(new byte[2000]));
        await pair.A.SendAsync(new FrameKind(10), Body("small"));

        Assert.Equal("small", MessagePackSerializer.Deserialize<string>((await handler.NextAsync()).Body));
        Assert.Equal(1, pair.B.Statistics.Malformed);
    }

    [Fact]
    public async Task TextMessage_IsNotAFrame_AndIsDropped()
    {
        var handler = new RecordingHandler("known", 10);
        await using var pair = await SessionPair.StartAsync([], [handler]);

        pair.Channels.A.SendText("hello?");
        await pair.A.SendAsync(new FrameKind(10), Body("after"));

        await handler.NextAsync();
        Assert.Equal(1, pair.B.Statistics.Malformed);
    }

    [Fact]
    public async Task HandlerRejectingBody_CountsMalformed_AndFailingHandler_IsLoggedWithItsName()
    {
        var handler = new RecordingHandler("Picky", 10)
        {
            Fail = (_, body) => MessagePackSerializer.Deserialize<string>(body.ToArray()) switch
            {
                "bad body" => new FrameFormatException("no thanks"),
                "bug" => new InvalidOperationException("plugin bug"),
                _ => null,
            },
        };
        await using var pair = await SessionPair.StartAsync([], [handler]);

        await pair.A.SendAsync(new FrameKind(10), Body("bad body"));
        await pair.A.SendAsync(new FrameKind(10), Body("bug"));
        await pair.A.SendAsync(new FrameKind(10), Body("fine"));

        Assert.Equal("fine", MessagePackSerializer.Deserialize<string>((await handler.NextAsync()).Body));
        Assert.Equal(1, pair.B.Statistics.Malformed);
        Assert.Equal(1, pair.B.Statistics.HandlerFailed);
        Assert.Contains(pair.Logs.Entries, e => e.Message.Contains("'Picky' failed", StringComparison.Ordinal) && e.Exception is InvalidOperationException);
    }

    [Fact]
    public void Router_TwoHandlersClaimingOneKind_FailsNamingBoth()
    {
        var ex = Assert.Throws<FrameKindConflictException>(() => new FrameRouter([new RecordingHandler("one", 5, 6), new RecordingHandler("two", 6)]));
        Assert.Contains("'one'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'two'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Send_BodyThatIsNotOneObject_OrTooLarge_IsRefused()
    {
        await using var pair = await SessionPair.StartAsync([], []);
        await Assert.ThrowsAsync<ArgumentException>(async () => await pair.A.SendAsync(new FrameKind(10), new byte[] { 0xc0, 0xc0 }));
        await Assert.ThrowsAsync<ArgumentException>(async () => await pair.A.SendAsync(new FrameKind(10), new byte[] { 0xa5, 0x61 }));
        await Assert.ThrowsAsync<ArgumentException>(async () => await pair.A.SendAsync(new FrameKind(10), Body(new byte[pair.A.MaxFrameBodySize])));
    }

    [Fact]
    public async Task Send_AfterChannelClosed_ThrowsDataChannelClosed()
    {
        await using var pair = await SessionPair.StartAsync([], []);
        await pair.Channels.A.CloseAsync();
        await pair.RunA.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(pair.A.Ended.IsCancellationRequested);
        await Assert.ThrowsAsync<Contracts.Channels.DataChannelClosedException>(async () => await pair.A.SendAsync(new FrameKind(10), Body("late")));
    }
}
