using Messenger.Transport.Sctp;
using Messenger.Transport.Sctp.Chunks;
using Messenger.Transport.Tests.Simulation;

namespace Messenger.Transport.Tests.Sctp;

public class AssociationRobustnessTests
{
    [Fact]
    public void Connect_FirstPacket_IsAChromiumLikeInit()
    {
        var association = new SctpAssociation(new SctpAssociationOptions { RandomSeed = 1 });
        association.Connect(TimeSpan.Zero);
        var buffer = new byte[1200];
        var length = association.PollPacket(buffer, TimeSpan.Zero);

        var packet = SctpPacket.Parse(buffer.AsSpan(0, length));
        Assert.Equal(0u, packet.VerificationTag);
        Assert.Equal(5000, packet.SourcePort);
        Assert.Equal(5000, packet.DestinationPort);
        var init = Assert.IsType<InitChunk>(Assert.Single(packet.Chunks));
        Assert.Equal(5u * 1024 * 1024, init.AdvertisedReceiverWindow);
        Assert.Equal(65535, init.OutboundStreams);
        Assert.Equal(65535, init.InboundStreams);
        Assert.True(init.SupportsExtension(ChunkType.ReConfig));
        Assert.True(init.SupportsExtension(ChunkType.ForwardTsn));
        Assert.NotNull(init.Find(InitChunk.ForwardTsnSupportedParameter));
        Assert.NotEqual(0u, init.InitiateTag);
        Assert.Equal(0, association.PollPacket(buffer, TimeSpan.Zero));
    }

    [Fact]
    public void HandlePacket_InitWithUnknownReportableParameter_InitAckReportsIt()
    {
        var b = new SctpAssociation(new SctpAssociationOptions { RandomSeed = 2 });
        var init = new InitChunk
        {
            InitiateTag = 0x01020304,
            AdvertisedReceiverWindow = 100_000,
            OutboundStreams = 10,
            InboundStreams = 10,
            InitialTsn = 1,
            Parameters = { new SctpParameter(0xC123, [7, 7]), new SctpParameter(0x0124, [8]), new SctpParameter(0xC125, [9]) },
        };
        b.HandlePacket(new SctpPacket { SourcePort = 5000, DestinationPort = 5000, Chunks = { init } }.Serialize(), TimeSpan.Zero);
        var buffer = new byte[1200];
        var reply = SctpPacket.Parse(buffer.AsSpan(0, b.PollPacket(buffer, TimeSpan.Zero)));

        Assert.Equal(0x01020304u, reply.VerificationTag);
        var initAck = Assert.IsType<InitChunk>(Assert.Single(reply.Chunks));
        Assert.True(initAck.IsAck);

        // 0xC123 (11: skip, report) is reported; 0x0124 (00: stop) ends processing, so 0xC125 is never looked at.
        var reported = Assert.Single(initAck.Parameters, p => p.Type == InitChunk.UnrecognizedParameter);
        Assert.Equal("c12300060707", Convert.ToHexStringLower(reported.Value));
        Assert.Equal(SctpAssociationState.Closed, b.State);
    }

    [Fact]
    public void HandlePacket_MutatedPacketsFromARealSession_NeverThrow()
    {
        // Record every packet of a lossy session, then replay mutated copies (checksums re-stamped) at fresh peers.
        var recorded = new List<byte[]>();
        var net = AssociationTransferTests.Connected(600, new LinkConditions { Loss = 0.1, Reordering = 0.2 });
        net.DropFilter = (_, packet) =>
        {
            recorded.Add(packet);
            return false;
        };
        for (var i = 0; i < 30; i++)
        {
            net.A.Association.Send((ushort)(i % 3), 53, TestMessages.Create((ushort)(i % 3), i, 50 + (i * 400)), new SctpSendOptions(Unordered: i % 2 == 0, MaxRetransmits: i % 5 == 0 ? 1 : null), net.Now);
        }

        net.A.Association.ResetStreams([1]);
        net.Run(TimeSpan.FromSeconds(20));
        Assert.True(recorded.Count > 20);

        var random = new Random(601);
        for (var i = 0; i < 20_000; i++)
        {
            var packet = recorded[random.Next(recorded.Count)].ToArray();
            for (var k = random.Next(1, 4); k > 0; k--)
            {
                packet[random.Next(12, packet.Length)] = (byte)random.Next(256);
            }

            if (random.Next(4) == 0)
            {
                packet = packet[..random.Next(12, packet.Length + 1)];
            }

            Crc32C.StampPacket(packet);
            var target = random.Next(2) == 0 ? net.A.Association : net.B.Association;
            target.HandlePacket(packet, net.Now);
            var buffer = new byte[1200];
            while (target.PollPacket(buffer, net.Now) > 0)
            {
            }

            target.HandleTimeout(net.Now + TimeSpan.FromSeconds(1));
            while (target.TryPollEvent(out _))
            {
            }
        }
    }

    [Fact]
    public void HandlePacket_IncomingResetRequest_AnsweredWithOutgoingReset()
    {
        var net = AssociationTransferTests.Connected(602, LinkConditions.Lossless);
        net.A.Association.Send(4, 53, TestMessages.Create(4, 0, 10), default, net.Now);
        Assert.True(net.RunUntil(() => net.B.ReceivedCount == 1, TimeSpan.FromSeconds(5)));

        // B asks A (RFC 6525 §4.2) to reset A's outgoing stream 4; A answers by resetting it.
        var b = net.B.Association;
        var request = new IncomingResetRequest(b.NextRequestSequence, [4]);
        var packet = new SctpPacket { SourcePort = 5000, DestinationPort = 5000, VerificationTag = net.A.Association.LocalTag, Chunks = { new ReConfigChunk([request.ToParameter()]) } };
        net.A.Association.HandlePacket(packet.Serialize(), net.Now);

        Assert.True(net.RunUntil(() => net.B.Events.Exists(e => e.Kind == SctpEventKind.IncomingStreamsReset), TimeSpan.FromSeconds(10)), net.Describe());
        Assert.Equal([(ushort)4], net.B.Events.First(e => e.Kind == SctpEventKind.IncomingStreamsReset).Streams!);
    }

    [Fact]
    public void HandlePacket_PeerSendsEndlessMessageIgnoringWindow_AbortsOnceItPassesTheMaxMessageSize_MemoryStaysBounded()
    {
        var options = new SctpAssociationOptions { ReceiveWindow = 64 * 1024, MaxReceiveMessageSize = 16 * 1024, RandomSeed = 3 };
        var net = AssociationTransferTests.Connected(603, LinkConditions.Lossless, options);
        var b = net.B.Association;
        var tsn = b.ExpectedTsn;

        // A hostile peer: in-order fragments of one message that never ends, far beyond the advertised window.
        for (var i = 0; i < 200; i++)
        {
            var chunk = new DataChunk { DataFlags = i == 0 ? DataChunk.BeginFlag : (byte)0, Tsn = tsn++, StreamId = 1, PayloadProtocolId = 53, Payload = new byte[1000] };
            b.HandlePacket(new SctpPacket { SourcePort = 5000, DestinationPort = 5000, VerificationTag = b.LocalTag, Chunks = { chunk } }.Serialize(), net.Now);
        }

        // 1000-byte fragments: the 17th would make the message larger than 16 KiB, so the association ends there
        // (it used to hold the window full, 66 to 81 fragments, and take nothing more: a wedge).
        Assert.Equal(SctpAssociationState.Closed, b.State);
        Assert.InRange(b.PendingReassemblyFragments, 0, 16);
    }
}
