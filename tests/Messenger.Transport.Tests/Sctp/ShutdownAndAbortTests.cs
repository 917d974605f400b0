using System.Buffers.Binary;
using Messenger.Transport.Sctp;
using Messenger.Transport.Sctp.Chunks;
using Messenger.Transport.Tests.Simulation;

namespace Messenger.Transport.Tests.Sctp;

public class ShutdownAndAbortTests
{
    [Theory]
    [InlineData(500, 0.0)]
    [InlineData(501, 0.1)]
    [InlineData(502, 0.2)]
    [InlineData(503, 0.2)]
    public void Shutdown_WithDataQueued_DeliversEverythingThenBothClose(int seed, double loss)
    {
        var net = AssociationTransferTests.Connected(seed, new LinkConditions { Loss = loss, Reordering = 0.2, Duplication = 0.05 });
        for (var i = 0; i < 50; i++)
        {
            net.A.Association.Send(1, 53, TestMessages.Create(1, i, 3000), default, net.Now);
        }

        net.A.Association.Shutdown(net.Now);
        Assert.Throws<InvalidOperationException>(() => net.A.Association.Send(1, 53, [1], default, net.Now));

        Assert.True(net.RunUntil(() => net.A.Closed && net.B.Closed, TimeSpan.FromMinutes(10)), net.Describe());
        Assert.Contains(net.A.Events, e => e.Kind == SctpEventKind.Closed);
        Assert.Contains(net.B.Events, e => e.Kind == SctpEventKind.Closed);
        Assert.Equal(Enumerable.Range(0, 50), net.B.Received[1].Select(m => TestMessages.Verify(1, m)));
        Assert.Equal(SctpAssociationState.Closed, net.A.Association.State);
        Assert.Equal(SctpAssociationState.Closed, net.B.Association.State);
        Assert.Equal(TimeSpan.MaxValue, net.A.Association.NextDeadline);
    }

    [Fact]
    public void Shutdown_CompleteLost_PeerStillClosesGracefully()
    {
        var net = AssociationTransferTests.Connected(508, LinkConditions.Lossless);
        var dropped = false;
        net.DropFilter = (direction, packet) => direction == 0 && packet[12] == (byte)ChunkType.ShutdownComplete && !dropped && (dropped = true);
        net.A.Association.Shutdown(net.Now);

        Assert.True(net.RunUntil(() => net.A.Closed && net.B.Closed, TimeSpan.FromMinutes(2)), net.Describe());
        Assert.True(dropped);
        Assert.Contains(net.B.Events, e => e.Kind == SctpEventKind.Closed);
        Assert.DoesNotContain(net.B.Events, e => e.Kind == SctpEventKind.Aborted);
    }

    [Fact]
    public void Shutdown_BothSidesAtOnce_BothClose()
    {
        var net = AssociationTransferTests.Connected(504, LinkConditions.Lossless);
        net.A.Association.Shutdown(net.Now);
        net.B.Association.Shutdown(net.Now);
        Assert.True(net.RunUntil(() => net.A.Closed && net.B.Closed, TimeSpan.FromMinutes(1)), net.Describe());
        Assert.DoesNotContain(net.A.Events, e => e.Kind == SctpEventKind.Aborted);
        Assert.DoesNotContain(net.B.Events, e => e.Kind == SctpEventKind.Aborted);
    }

    [Fact]
    public void Abort_Local_PeerSeesAbortWithReason()
    {
        var net = AssociationTransferTests.Connected(505, LinkConditions.Lossless);
        net.A.Association.Abort("user closed the app");
        Assert.True(net.RunUntil(() => net.B.Closed, TimeSpan.FromSeconds(5)), net.Describe());
        var aborted = Assert.Single(net.B.Events, e => e.Kind == SctpEventKind.Aborted);
        Assert.Contains("user closed the app", aborted.Reason, StringComparison.Ordinal);
        Assert.Equal(SctpAssociationState.Closed, net.B.Association.State);
    }

    [Fact]
    public void HandlePacket_UnknownChunkWithReportBit_PeerGetsErrorAndLaterChunksAreSkipped()
    {
        var net = AssociationTransferTests.Connected(506, LinkConditions.Lossless);
        var b = net.B.Association;

        // Type 0x7f: high bits 01, "stop processing and report" (RFC 9260 §3.2); the DATA after it must be ignored.
        b.HandlePacket(Packet(b.LocalTag, new UnknownChunk(0x7f, 0, [1, 2, 3, 4]), Data(b, 1)), net.Now);
        Assert.True(net.RunUntil(() => net.A.Events.Exists(e => e.Kind == SctpEventKind.ErrorReceived), TimeSpan.FromSeconds(5)), net.Describe());
        Assert.Contains("cause 6", net.A.Events.First(e => e.Kind == SctpEventKind.ErrorReceived).Reason, StringComparison.Ordinal);
        Assert.Equal(0, net.B.ReceivedCount);
    }

    [Fact]
    public void HandlePacket_UnknownChunkWithSkipBit_LaterChunksAreProcessed()
    {
        var net = AssociationTransferTests.Connected(507, LinkConditions.Lossless);
        var b = net.B.Association;

        // Type 0xbf: high bits 10, "skip and continue" without a report.
        b.HandlePacket(Packet(b.LocalTag, new UnknownChunk(0xbf, 0, [9]), Data(b, 1)), net.Now);
        net.Run(TimeSpan.FromSeconds(1));
        Assert.Equal(1, net.B.ReceivedCount);
        Assert.DoesNotContain(net.A.Events, e => e.Kind == SctpEventKind.ErrorReceived);
    }

    private static byte[] Packet(uint tag, params Chunk[] chunks)
    {
        var packet = new SctpPacket { SourcePort = 5000, DestinationPort = 5000, VerificationTag = tag };
        packet.Chunks.AddRange(chunks);
        return packet.Serialize();
    }

    // A DATA chunk carrying exactly the TSN the receiver expects next.
    private static DataChunk Data(SctpAssociation receiver, int index) => new()
    {
        DataFlags = DataChunk.BeginFlag | DataChunk.EndFlag,
        Tsn = receiver.ExpectedTsn,
        StreamId = 1,
        Payload = TestMessages.Create(1, index, 20),
    };
}
