using Messenger.Transport.Sctp;
using Messenger.Transport.Sctp.Chunks;

namespace Messenger.Transport.Tests.Sctp;

/// <summary>RFC 9260 §5.2.4: a COOKIE-ECHO that reaches an existing association, decided by tags and tie-tags.</summary>
public class CookieEchoTieTagTests
{
    private const uint PeerTag = 0x0A0A0A0A;

    [Theory]
    [InlineData(9u, 8u, 1u, 2u, nameof(CookieEchoAction.Restart))] // A: X X M M
    [InlineData(9u, 8u, 0u, 0u, nameof(CookieEchoAction.Discard))] // X X 0 0: not in the table
    [InlineData(9u, 8u, 1u, 7u, nameof(CookieEchoAction.Discard))] // X X M X: not in the table
    [InlineData(1u, 8u, 0u, 0u, nameof(CookieEchoAction.Collision))] // B: M X A A
    [InlineData(1u, 8u, 1u, 2u, nameof(CookieEchoAction.Collision))] // B: M X A A
    [InlineData(9u, 2u, 0u, 0u, nameof(CookieEchoAction.LateCookie))] // C: X M 0 0
    [InlineData(9u, 2u, 1u, 2u, nameof(CookieEchoAction.Discard))] // X M with tie-tags: not in the table
    [InlineData(1u, 2u, 5u, 6u, nameof(CookieEchoAction.Duplicate))] // D: M M A A
    public void ClassifyCookieEcho_Rfc9260Table_PicksTheRow(uint cookieLocal, uint cookiePeer, uint localTie, uint peerTie, string expected)
    {
        var cookie = new StateCookie(TimeSpan.Zero, cookieLocal, 100, cookiePeer, 200, 65536, 16, 16, true, true, localTie, peerTie);
        Assert.Equal(Enum.Parse<CookieEchoAction>(expected), SctpAssociation.ClassifyCookieEcho(cookie, localTag: 1, peerTag: 2));
    }

    [Fact]
    public void ClassifyCookieEcho_DuringCookieWait_OurTagMeansCollision()
    {
        // B's "M 0 A A" row: in COOKIE-WAIT the peer's tag is still unknown (zero).
        var cookie = new StateCookie(TimeSpan.Zero, 1, 100, 8, 200, 65536, 16, 16, true, true);
        Assert.Equal(CookieEchoAction.Collision, SctpAssociation.ClassifyCookieEcho(cookie, localTag: 1, peerTag: 0));
    }

    [Fact]
    public void HandlePacket_RestartCookieWithCurrentTieTags_RestartsWithNewTags()
    {
        var peer = new ScriptedPeer();
        var (firstTag, _) = peer.Establish(PeerTag);
        var (restartTag, restartCookie) = peer.InitAck(PeerTag + 1);
        Assert.NotEqual(firstTag, restartTag);

        var reply = peer.CookieEcho(restartTag, restartCookie);

        var cookieAck = Assert.Single(reply);
        Assert.Equal(PeerTag + 1, cookieAck.VerificationTag);
        Assert.Equal(ChunkType.CookieAck, Assert.Single(cookieAck.Chunks).Type);
        Assert.Contains(peer.Events, e => e.Kind == SctpEventKind.Restarted);
        Assert.Equal(restartTag, peer.Us.LocalTag);
        Assert.Equal(PeerTag + 1, peer.Us.PeerTag);
    }

    [Fact]
    public void HandlePacket_HandshakeCookieReplayedAfterRestart_IsDiscarded()
    {
        // The original cookie has no tie-tags and names tags that are both gone now: X X 0 0, not a restart.
        var peer = new ScriptedPeer();
        var (firstTag, firstCookie) = peer.Establish(PeerTag);
        var (restartTag, restartCookie) = peer.InitAck(PeerTag + 1);
        peer.CookieEcho(restartTag, restartCookie);
        peer.Events.Clear();

        var reply = peer.CookieEcho(firstTag, firstCookie);

        Assert.Empty(reply);
        Assert.DoesNotContain(peer.Events, e => e.Kind == SctpEventKind.Restarted);
        Assert.Equal(restartTag, peer.Us.LocalTag);
        Assert.Equal(PeerTag + 1, peer.Us.PeerTag);
    }

    [Fact]
    public void HandlePacket_RestartCookieFromBeforeAnotherRestart_IsDiscarded()
    {
        // Two restart cookies minted for the same association; once one is used, the other's tie-tags are stale.
        var peer = new ScriptedPeer();
        peer.Establish(PeerTag);
        var (staleTag, staleCookie) = peer.InitAck(PeerTag + 1);
        var (usedTag, usedCookie) = peer.InitAck(PeerTag + 2);
        peer.CookieEcho(usedTag, usedCookie);
        Assert.Single(peer.Events, e => e.Kind == SctpEventKind.Restarted);

        var reply = peer.CookieEcho(staleTag, staleCookie);

        Assert.Empty(reply);
        Assert.Single(peer.Events, e => e.Kind == SctpEventKind.Restarted);
        Assert.Equal(usedTag, peer.Us.LocalTag);
        Assert.Equal(PeerTag + 2, peer.Us.PeerTag);
    }

    [Fact]
    public void HandlePacket_DuplicateCookieWhenEstablished_OnlyCookieAck()
    {
        var peer = new ScriptedPeer();
        var (tag, cookie) = peer.Establish(PeerTag);

        var reply = peer.CookieEcho(tag, cookie);

        Assert.Equal(ChunkType.CookieAck, Assert.Single(Assert.Single(reply).Chunks).Type);
        Assert.Single(peer.Events, e => e.Kind == SctpEventKind.Connected);
        Assert.DoesNotContain(peer.Events, e => e.Kind == SctpEventKind.Restarted);
    }

    [Fact]
    public void HandlePacket_CollisionCookieInCookieWait_EstablishesWithCookiesPeerTag()
    {
        // We sent INIT; the peer's own INIT crossed it. Our INIT-ACK keeps our tag, so its cookie is case B.
        var peer = new ScriptedPeer();
        peer.Us.Connect(peer.Now);
        var ourInit = Assert.IsType<InitChunk>(Assert.Single(Assert.Single(peer.Drain()).Chunks));
        var (ourTag, cookie) = peer.InitAck(PeerTag);
        Assert.Equal(ourInit.InitiateTag, ourTag);

        var reply = peer.CookieEcho(ourTag, cookie);

        Assert.Equal(SctpAssociationState.Established, peer.Us.State);
        Assert.Equal(PeerTag, peer.Us.PeerTag);
        Assert.Equal(PeerTag, Assert.Single(reply).VerificationTag);
        Assert.Single(peer.Events, e => e.Kind == SctpEventKind.Connected);
    }

    [Fact]
    public void HandlePacket_RestartCookieWhileShutdownAckSent_RepeatsShutdownAckAndReportsError()
    {
        var peer = new ScriptedPeer();
        var (ourTag, _) = peer.Establish(PeerTag);
        var (restartTag, restartCookie) = peer.InitAck(PeerTag + 1);
        var shutdownReply = peer.Send(ourTag, new ShutdownChunk(999));
        Assert.Equal(ChunkType.ShutdownAck, Assert.Single(Assert.Single(shutdownReply).Chunks).Type);
        Assert.Equal(SctpAssociationState.ShutdownAckSent, peer.Us.State);

        var reply = peer.CookieEcho(restartTag, restartCookie);

        Assert.Equal(SctpAssociationState.ShutdownAckSent, peer.Us.State);
        Assert.Contains(reply, p => p.VerificationTag == PeerTag && p.Chunks.Exists(c => c.Type == ChunkType.ShutdownAck));
        var error = Assert.Single(reply, p => p.Chunks.Exists(c => c.Type == ChunkType.Error));
        Assert.Equal(PeerTag + 1, error.VerificationTag);
        Assert.Equal(CauseListChunk.CookieReceivedWhileShuttingDown, Assert.Single(((CauseListChunk)error.Chunks[0]).Causes).Type);
        Assert.DoesNotContain(peer.Events, e => e.Kind == SctpEventKind.Restarted);
    }

    [Fact]
    public void HandlePacket_InitWhileShutdownAckSent_RepeatsShutdownAck()
    {
        // RFC 9260 §9.2: the peer lost our SHUTDOWN-COMPLETE... or its own state; we answer with SHUTDOWN-ACK again.
        var peer = new ScriptedPeer();
        var (ourTag, _) = peer.Establish(PeerTag);
        peer.Send(ourTag, new ShutdownChunk(999));

        var reply = peer.Send(0, ScriptedPeer.Init(PeerTag + 1));

        var packet = Assert.Single(reply);
        Assert.Equal(PeerTag, packet.VerificationTag);
        Assert.Equal(ChunkType.ShutdownAck, Assert.Single(packet.Chunks).Type);
    }
}
