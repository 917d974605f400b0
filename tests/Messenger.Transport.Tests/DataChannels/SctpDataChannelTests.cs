using System.Text;
using Messenger.Contracts.Channels;
using Messenger.Transport.DataChannels;
using Messenger.Transport.Tests.Simulation;

namespace Messenger.Transport.Tests.DataChannels;

public class SctpDataChannelTests
{
    [Fact]
    public async Task CreateChannel_BothStart_PeerAcceptsWithLabelProtocolAndParityIds()
    {
        await using var pair = new DataChannelPair();
        await pair.StartAsync();

        var local = pair.A.CreateChannel("chat", new DataChannelOptions { Protocol = "messenger-v1" });
        var remote = await pair.B.AcceptChannelAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        await DataChannelPair.WaitForStateAsync(local, DataChannelState.Open);

        Assert.Equal("chat", remote.Label);
        Assert.Equal("messenger-v1", remote.Options.Protocol);
        Assert.Equal(DataChannelState.Open, remote.State);
        Assert.Equal(0, local.StreamId % 2);
        Assert.Equal(local.StreamId, remote.StreamId);

        var fromServer = pair.B.CreateChannel("other");
        Assert.Equal(1, fromServer.StreamId % 2);
    }

    [Fact]
    public async Task Send_TextBinaryEmptyAndLarge_ArriveInOrderIntact()
    {
        await using var pair = new DataChannelPair();
        await pair.StartAsync();
        var local = pair.A.CreateChannel("data");
        var remote = await pair.B.AcceptChannelAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        await DataChannelPair.WaitForStateAsync(local, DataChannelState.Open);

        var big = TestMessages.Create(1, 7, 60_000);
        local.SendText("héllo");
        local.Send([]);
        local.SendText("");
        local.Send(big);
        for (var i = 0; i < 100; i++)
        {
            local.Send(TestMessages.Create(1, i, 100 + i));
        }

        var received = new List<DataChannelMessage>();
        await foreach (var message in remote.ReceiveAllAsync().WithCancellation(new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token))
        {
            received.Add(message);
            if (received.Count == 104)
            {
                break;
            }
        }

        Assert.Equal("héllo", Encoding.UTF8.GetString(received[0].Data.Span));
        Assert.True(received[0].IsText);
        Assert.True(received[1].Data.IsEmpty);
        Assert.False(received[1].IsText);
        Assert.True(received[2].Data.IsEmpty);
        Assert.True(received[2].IsText);
        Assert.Equal(big, received[3].Data.ToArray());
        Assert.Equal(Enumerable.Range(0, 100), received.Skip(4).Select(m => TestMessages.Verify(1, m.Data.ToArray())));
    }

    [Fact]
    public async Task Send_LossyLink_AllMessagesArriveInOrder()
    {
        await using var pair = new DataChannelPair(loss: 0.1, seed: 42);
        await pair.StartAsync();
        var local = pair.A.CreateChannel("lossy");
        var remote = await pair.B.AcceptChannelAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(20));
        await DataChannelPair.WaitForStateAsync(local, DataChannelState.Open);

        for (var i = 0; i < 300; i++)
        {
            local.Send(TestMessages.Create(2, i, 10 + (i * 37 % 4000)));
        }

        var indices = new List<int>();
        await foreach (var message in remote.ReceiveAllAsync().WithCancellation(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token))
        {
            indices.Add(TestMessages.Verify(2, message.Data.ToArray()));
            if (indices.Count == 300)
            {
                break;
            }
        }

        Assert.Equal(Enumerable.Range(0, 300), indices);
    }

    [Fact]
    public async Task BufferedAmount_BurstThenWait_GrowsAtOnceAndDrainsWithoutPolling()
    {
        await using var pair = new DataChannelPair();
        await pair.StartAsync();
        var local = pair.A.CreateChannel("bulk");
        var remote = await pair.B.AcceptChannelAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        await DataChannelPair.WaitForStateAsync(local, DataChannelState.Open);

        local.BufferedAmountLowThreshold = 64 * 1024;
        pair.PauseAToB();
        for (var i = 0; i < 64; i++)
        {
            local.Send(new byte[32 * 1024]);
        }

        // With the path stalled only the initial window leaves: 4380 bytes (RFC 9260 §7.2.1) plus up to one MTU of overshoot (§6.1 B).
        Assert.True(local.BufferedAmount >= (64 * 32 * 1024) - 4380 - 1200, $"buffered {local.BufferedAmount}");
        var wait = local.WaitForBufferedAmountLowAsync().AsTask();
        await Task.Delay(50);
        Assert.False(wait.IsCompleted);
        pair.ResumeAToB();
        await wait.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(local.BufferedAmount <= 64 * 1024);

        var count = 0;
        await foreach (var _ in remote.ReceiveAllAsync().WithCancellation(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token))
        {
            if (++count == 64)
            {
                break;
            }
        }

        Assert.Equal(0, local.BufferedAmount);
    }

    [Fact]
    public async Task Close_AfterSending_PeerReceivesEverythingThenBothClosed()
    {
        await using var pair = new DataChannelPair(loss: 0.05, seed: 7);
        await pair.StartAsync();
        var local = pair.A.CreateChannel("closing");
        var remote = await pair.B.AcceptChannelAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(20));
        await DataChannelPair.WaitForStateAsync(local, DataChannelState.Open);

        for (var i = 0; i < 50; i++)
        {
            local.Send(TestMessages.Create(3, i, 2000));
        }

        var closing = local.CloseAsync().AsTask();
        Assert.Throws<DataChannelClosedException>(() => local.Send([1]));

        // The receive stream ends by itself once the close has gone through, with every message before it.
        var indices = new List<int>();
        await foreach (var message in remote.ReceiveAllAsync().WithCancellation(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token))
        {
            indices.Add(TestMessages.Verify(3, message.Data.ToArray()));
        }

        await closing.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(Enumerable.Range(0, 50), indices);
        Assert.Equal(DataChannelState.Closed, local.State);
        Assert.Equal(DataChannelState.Closed, remote.State);
        await local.WaitForBufferedAmountLowAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(1));
        await remote.Completion.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, pair.A.OpenChannelCount);
        Assert.Equal(0, pair.B.OpenChannelCount);
    }

    [Theory]
    [InlineData(300 * 1024)] // over our a=max-message-size (256 KiB)
    [InlineData(6 * 1024 * 1024)] // over the receive window plus that: used to wedge the association for good
    public async Task Receive_MessageOverOurMaxMessageSize_AbortsWithAReasonOnBothSides_NeverAWedge(int size)
    {
        // A peer that ignores our a=max-message-size (it believes we take 8 MiB).
        await using var pair = new DataChannelPair(remoteMaxMessageSize: 8 * 1024 * 1024);
        await pair.StartAsync();
        var local = pair.A.CreateChannel("data");
        var remote = await pair.B.AcceptChannelAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        await DataChannelPair.WaitForStateAsync(local, DataChannelState.Open);
        local.Send(new byte[256 * 1024]); // exactly the limit: delivered
        local.Send(new byte[size]);

        await using var received = remote.ReceiveAllAsync().GetAsyncEnumerator();
        Assert.True(await received.MoveNextAsync());
        Assert.Equal(256 * 1024, received.Current.Data.Length);
        await Task.WhenAll(pair.A.Closed, pair.B.Closed).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.False(await received.MoveNextAsync());
        Assert.Contains("larger than 262144 bytes", pair.B.AbortReason, StringComparison.Ordinal);
        Assert.Contains("The peer aborted", pair.A.AbortReason, StringComparison.Ordinal);
        Assert.Contains("larger than 262144 bytes", pair.A.AbortReason, StringComparison.Ordinal);
        Assert.Equal(DataChannelState.Closed, local.State);
    }

    [Fact]
    public async Task Send_TooLargeOrBeforeOpen_Throws()
    {
        await using var pair = new DataChannelPair(remoteMaxMessageSize: 1000);
        var local = pair.A.CreateChannel("early");
        Assert.Throws<DataChannelClosedException>(() => local.Send([1, 2, 3]));

        await pair.StartAsync();
        await DataChannelPair.WaitForStateAsync(local, DataChannelState.Open);
        Assert.Equal(1000, local.MaxMessageSize);
        Assert.Throws<ArgumentException>(() => local.Send(new byte[1001]));
        local.Send(new byte[1000]);
    }

    [Fact]
    public async Task DisposeConnection_ClosesChannelsAndEndsReceiveStreams()
    {
        var pair = new DataChannelPair();
        await pair.StartAsync();
        var local = pair.A.CreateChannel("x");
        var remote = await pair.B.AcceptChannelAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        await DataChannelPair.WaitForStateAsync(local, DataChannelState.Open);

        await pair.DisposeAsync();
        Assert.Equal(DataChannelState.Closed, local.State);
        Assert.Equal(DataChannelState.Closed, remote.State);
        await foreach (var _ in remote.ReceiveAllAsync())
        {
            Assert.Fail("no message was sent");
        }

        Assert.True(pair.A.Closed.IsCompleted);
    }

    [Fact]
    public async Task CreateChannel_UnorderedNoRetransmitsOverLossyLink_PeerSeesOptionsAndLaterMessagesFlow()
    {
        await using var pair = new DataChannelPair(loss: 0.2, seed: 99);
        await pair.StartAsync();
        var local = pair.A.CreateChannel("telemetry", new DataChannelOptions { Ordered = false, MaxRetransmits = 0 });
        var remote = await pair.B.AcceptChannelAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(20));
        await DataChannelPair.WaitForStateAsync(local, DataChannelState.Open);
        Assert.False(remote.Options.Ordered);
        Assert.Equal(0, remote.Options.MaxRetransmits);

        for (var i = 0; i < 200; i++)
        {
            local.Send(TestMessages.Create(5, i, 300));
        }

        // A reliable marker afterwards proves nothing waits behind the abandoned messages.
        var marker = pair.A.CreateChannel("marker");
        var remoteMarker = await pair.B.AcceptChannelAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(20));
        await DataChannelPair.WaitForStateAsync(marker, DataChannelState.Open);
        marker.SendText("done");
        await foreach (var m in remoteMarker.ReceiveAllAsync().WithCancellation(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token))
        {
            Assert.Equal("done", Encoding.UTF8.GetString(m.Data.Span));
            break;
        }

        var got = new List<int>();
        await local.CloseAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        await foreach (var m in remote.ReceiveAllAsync())
        {
            got.Add(TestMessages.Verify(5, m.Data.ToArray()));
        }

        Assert.Equal(got.Count, got.Distinct().Count());
        Assert.InRange(got.Count, 1, 199);
    }

    [Fact]
    public async Task Receive_SlowReader_HoldsTheSenderBackThenEverythingArrives()
    {
        // A 128 KiB receive window: while nobody reads on B, A can hand only about that much to the network.
        var sctp = DataChannelPair.FastTimers with { ReceiveWindow = 128 * 1024, MaxReceiveMessageSize = 64 * 1024 };
        await using var pair = new DataChannelPair(sctp: sctp);
        await pair.StartAsync();
        var local = pair.A.CreateChannel("slow");
        var remote = await pair.B.AcceptChannelAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        await DataChannelPair.WaitForStateAsync(local, DataChannelState.Open);

        const int count = 64;
        for (var i = 0; i < count; i++)
        {
            local.Send(TestMessages.Create(6, i, 64 * 1024));
        }

        await Task.Delay(500);
        var unsent = local.BufferedAmount;
        Assert.True(unsent >= (count * 64 * 1024) - (512 * 1024), $"only {unsent} bytes are still buffered; the window did not hold the sender back");

        var indices = new List<int>();
        await foreach (var message in remote.ReceiveAllAsync().WithCancellation(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token))
        {
            indices.Add(TestMessages.Verify(6, message.Data.ToArray()));
            if (indices.Count == count)
            {
                break;
            }
        }

        Assert.Equal(Enumerable.Range(0, count), indices);
        Assert.Equal(0, local.BufferedAmount);
    }
}
