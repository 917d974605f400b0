using Messenger.Transport.Sctp;
using Messenger.Transport.Tests.Simulation;

namespace Messenger.Transport.Tests.Sctp;

public class StreamResetTests
{
    [Theory]
    [InlineData(400, 0.0)]
    [InlineData(401, 0.1)]
    [InlineData(402, 0.2)]
    [InlineData(403, 0.2)]
    [InlineData(404, 0.15)]
    public void ResetStreams_AfterQueuedMessages_PeerSeesAllThenResetThenSsnRestartsAtZero(int seed, double loss)
    {
        var net = AssociationTransferTests.Connected(seed, new LinkConditions { Loss = loss, Duplication = 0.05, Reordering = 0.2 });
        for (var i = 0; i < 20; i++)
        {
            net.A.Association.Send(7, 53, TestMessages.Create(7, i, 2500), default, net.Now);
        }

        net.A.Association.ResetStreams([7]);
        Assert.True(net.RunUntil(() => net.A.Events.Exists(e => e.Kind == SctpEventKind.OutgoingStreamsReset), TimeSpan.FromMinutes(10)), net.Describe());

        // The reset was performed after every message sent before it had arrived.
        Assert.Equal(20, net.B.ResetSeenAfter[7]);
        Assert.Equal([(ushort)7], net.B.Events.Single(e => e.Kind == SctpEventKind.IncomingStreamsReset).Streams!);

        // After the reset the stream starts again at SSN 0; the receiver must deliver, not wait for SSN 20.
        for (var i = 100; i < 105; i++)
        {
            net.A.Association.Send(7, 53, TestMessages.Create(7, i, 100), default, net.Now);
        }

        Assert.True(net.RunUntil(() => net.B.Received[7].Count == 25, TimeSpan.FromMinutes(10)), net.Describe());
        Assert.Equal(Enumerable.Range(0, 20).Concat(Enumerable.Range(100, 5)), net.B.Received[7].Select(m => TestMessages.Verify(7, m)));
        Assert.Equal(0, net.B.Association.PendingOrderedMessages);
    }

    [Fact]
    public void ResetStreams_BothSidesResetSameStream_BothComplete()
    {
        // What closing a data channel does: each side resets its outgoing half of the stream.
        var net = AssociationTransferTests.Connected(405, new LinkConditions { Loss = 0.1, Reordering = 0.2 });
        net.A.Association.Send(3, 53, TestMessages.Create(3, 0, 100), default, net.Now);
        net.B.Association.Send(3, 53, TestMessages.Create(3, 0, 100), default, net.Now);
        net.A.Association.ResetStreams([3]);
        net.B.Association.ResetStreams([3]);

        Assert.True(net.RunUntil(
            () => net.A.Events.Exists(e => e.Kind == SctpEventKind.OutgoingStreamsReset) && net.B.Events.Exists(e => e.Kind == SctpEventKind.OutgoingStreamsReset) &&
                  net.A.Events.Exists(e => e.Kind == SctpEventKind.IncomingStreamsReset) && net.B.Events.Exists(e => e.Kind == SctpEventKind.IncomingStreamsReset),
            TimeSpan.FromMinutes(10)), net.Describe());
        Assert.Single(net.A.Received[3]);
        Assert.Single(net.B.Received[3]);

        // Nothing is kept for a stream both sides reset.
        Assert.Equal(0, net.A.Association.OutboundStreamCount);
        Assert.Equal(0, net.B.Association.OutboundStreamCount);
        Assert.Equal(0, net.A.Association.InboundStreamCount);
        Assert.Equal(0, net.B.Association.InboundStreamCount);
    }
}
