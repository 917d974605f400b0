using Messenger.Transport.Sctp;
using Messenger.Transport.Sctp.Chunks;

namespace Messenger.Transport.Tests.Sctp;

/// <summary>RFC 9260 §8.4 (out-of-the-blue packets) and §8.5.1 (the T bit of ABORT and SHUTDOWN-COMPLETE).</summary>
public class OutOfTheBlueTests
{
    private const uint StrangerTag = 0x5EED5EED;
    private const uint PeerTag = 0x0A0A0A0A;

    [Fact]
    public void HandlePacket_DataWithNoAssociation_AnsweredWithReflectedAbort()
    {
        var peer = new ScriptedPeer();

        var reply = peer.Send(StrangerTag, new DataChunk { DataFlags = 3, Tsn = 5, Payload = new byte[] { 1, 2, 3 } });

        var abort = Assert.Single(reply);
        Assert.Equal(StrangerTag, abort.VerificationTag);
        var chunk = Assert.IsType<CauseListChunk>(Assert.Single(abort.Chunks));
        Assert.Equal(ChunkType.Abort, chunk.Type);
        Assert.True(chunk.TagReflected);
        Assert.Equal(SctpAssociationState.Closed, peer.Us.State);
    }

    [Fact]
    public void HandlePacket_ShutdownAckWithNoAssociation_AnsweredWithReflectedShutdownComplete()
    {
        var peer = new ScriptedPeer();

        var reply = peer.Send(StrangerTag, new EmptyChunk(ChunkType.ShutdownAck));

        var complete = Assert.Single(reply);
        Assert.Equal(StrangerTag, complete.VerificationTag);
        var chunk = Assert.Single(complete.Chunks);
        Assert.Equal(ChunkType.ShutdownComplete, chunk.Type);
        Assert.Equal(CauseListChunk.TagReflectedFlag, chunk.Flags);
    }

    [Theory]
    [InlineData("abort")]
    [InlineData("shutdown-complete")]
    [InlineData("cookie-ack")]
    [InlineData("stale-cookie")]
    [InlineData("data-then-abort")]
    public void HandlePacket_OutOfTheBlueThatMustNotBeAnswered_IsSilentlyDiscarded(string kind)
    {
        var peer = new ScriptedPeer();
        Chunk[] chunks = kind switch
        {
            "abort" => [CauseListChunk.Abort(CauseListChunk.UserInitiatedAbort, "bye")],
            "shutdown-complete" => [new EmptyChunk(ChunkType.ShutdownComplete)],
            "cookie-ack" => [new EmptyChunk(ChunkType.CookieAck)],
            "stale-cookie" => [new CauseListChunk(ChunkType.Error, 0, [new SctpParameter(CauseListChunk.StaleCookie, [0, 0, 0, 1])])],
            _ => [new DataChunk { DataFlags = 3, Tsn = 5, Payload = new byte[] { 1 } }, CauseListChunk.Abort(CauseListChunk.UserInitiatedAbort, "bye")],
        };

        var reply = peer.Send(StrangerTag, chunks);

        Assert.Empty(reply);
        Assert.Empty(peer.Events);
    }

    [Fact]
    public void HandlePacket_AfterGracefulClose_LateDataIsAbortedAndRetransmittedShutdownAckCompleted()
    {
        var net = new Simulation.SimulatedNetwork(12, Simulation.LinkConditions.Lossless);
        net.A.Association.Connect(net.Now);
        Assert.True(net.RunUntil(() => net.A.Connected && net.B.Connected, TimeSpan.FromSeconds(10)));
        var bTag = net.B.Association.LocalTag;
        var aTag = net.B.Association.PeerTag;
        net.A.Association.Shutdown(net.Now);
        Assert.True(net.RunUntil(() => net.A.Closed && net.B.Closed, TimeSpan.FromSeconds(10)));

        var lateData = Send(net.B.Association, bTag, net.Now, new DataChunk { DataFlags = 3, Tsn = 7, Payload = new byte[] { 1 } });
        var abort = Assert.IsType<CauseListChunk>(Assert.Single(Assert.Single(lateData).Chunks));
        Assert.Equal(ChunkType.Abort, abort.Type);
        Assert.True(abort.TagReflected);
        Assert.Equal(bTag, lateData[0].VerificationTag);

        var lateShutdownAck = Send(net.A.Association, aTag, net.Now, new EmptyChunk(ChunkType.ShutdownAck));
        Assert.Equal(ChunkType.ShutdownComplete, Assert.Single(Assert.Single(lateShutdownAck).Chunks).Type);
    }

    [Fact]
    public void HandlePacket_InitToClosedAssociation_AbortedWithItsInitiateTagAndTBitClear()
    {
        var peer = new ScriptedPeer();
        var (ourTag, _) = peer.Establish(PeerTag);
        peer.Send(ourTag, CauseListChunk.Abort(CauseListChunk.UserInitiatedAbort, "bye"));
        Assert.Equal(SctpAssociationState.Closed, peer.Us.State);

        var reply = peer.Send(0, ScriptedPeer.Init(PeerTag + 1));

        var abort = Assert.Single(reply);
        Assert.Equal(PeerTag + 1, abort.VerificationTag);
        var chunk = Assert.IsType<CauseListChunk>(Assert.Single(abort.Chunks));
        Assert.Equal(ChunkType.Abort, chunk.Type);
        Assert.False(chunk.TagReflected);
    }

    [Fact]
    public void HandlePacket_ShutdownAckDuringHandshake_TreatedAsOutOfTheBlue()
    {
        // RFC 9260 §8.5.1 E: in COOKIE-WAIT a SHUTDOWN-ACK gets a reflected SHUTDOWN-COMPLETE and changes nothing.
        var peer = new ScriptedPeer();
        peer.Us.Connect(peer.Now);
        peer.Drain();

        var reply = peer.Send(StrangerTag, new EmptyChunk(ChunkType.ShutdownAck));

        var complete = Assert.Single(reply);
        Assert.Equal(StrangerTag, complete.VerificationTag);
        Assert.Equal(CauseListChunk.TagReflectedFlag, Assert.Single(complete.Chunks).Flags);
        Assert.Equal(SctpAssociationState.CookieWait, peer.Us.State);
    }

    [Theory]
    [InlineData(false, true, true)] // our tag, T clear: accepted
    [InlineData(true, false, true)] // peer's tag, T set: accepted
    [InlineData(false, false, false)] // peer's tag, T clear: discarded
    [InlineData(true, true, false)] // our tag, T set: discarded
    public void HandlePacket_AbortTagAndTBit_AcceptedOnlyAsRfc9260Allows(bool tBit, bool ourTag, bool accepted)
    {
        var peer = new ScriptedPeer();
        var (localTag, _) = peer.Establish(PeerTag);

        peer.Send(ourTag ? localTag : PeerTag, CauseListChunk.Abort(CauseListChunk.UserInitiatedAbort, "bye", tagReflected: tBit));

        Assert.Equal(accepted, peer.Events.Exists(e => e.Kind == SctpEventKind.Aborted));
        Assert.Equal(accepted ? SctpAssociationState.Closed : SctpAssociationState.Established, peer.Us.State);
    }

    [Theory]
    [InlineData(false, true, true)]
    [InlineData(true, false, true)]
    [InlineData(false, false, false)]
    [InlineData(true, true, false)]
    public void HandlePacket_ShutdownCompleteTagAndTBit_AcceptedOnlyAsRfc9260Allows(bool tBit, bool ourTag, bool accepted)
    {
        var peer = new ScriptedPeer();
        var (localTag, _) = peer.Establish(PeerTag);
        peer.Send(localTag, new ShutdownChunk(999));
        Assert.Equal(SctpAssociationState.ShutdownAckSent, peer.Us.State);

        peer.Send(ourTag ? localTag : PeerTag, new EmptyChunk(ChunkType.ShutdownComplete, tBit ? CauseListChunk.TagReflectedFlag : (byte)0));

        Assert.Equal(accepted, peer.Events.Exists(e => e.Kind == SctpEventKind.Closed));
    }

    [Fact]
    public void HandlePacket_ShutdownCompleteOutsideShutdownAckSent_IsIgnored()
    {
        var peer = new ScriptedPeer();
        var (localTag, _) = peer.Establish(PeerTag);

        peer.Send(localTag, new EmptyChunk(ChunkType.ShutdownComplete));

        Assert.Equal(SctpAssociationState.Established, peer.Us.State);
    }

    private static List<SctpPacket> Send(SctpAssociation association, uint tag, TimeSpan now, params Chunk[] chunks)
    {
        association.HandlePacket(new SctpPacket { SourcePort = 5000, DestinationPort = 5000, VerificationTag = tag, Chunks = [.. chunks] }.Serialize(), now);
        var packets = new List<SctpPacket>();
        var buffer = new byte[2048];
        int n;
        while ((n = association.PollPacket(buffer, now)) > 0)
        {
            packets.Add(SctpPacket.Parse(buffer.AsSpan(0, n)));
        }

        return packets;
    }
}
