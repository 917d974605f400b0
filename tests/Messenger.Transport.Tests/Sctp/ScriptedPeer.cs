using Messenger.Transport.Sctp;
using Messenger.Transport.Sctp.Chunks;

namespace Messenger.Transport.Tests.Sctp;

/// <summary>
/// Plays the far end by hand, packet by packet, against one real <see cref="SctpAssociation"/> ("us"), for the
/// handshake corner cases a simulation of two well-behaved associations never produces.
/// </summary>
internal sealed class ScriptedPeer
{
    public ScriptedPeer(SctpAssociationOptions? options = null)
    {
        Us = new SctpAssociation(options ?? new SctpAssociationOptions { RandomSeed = 41 });
    }

    public SctpAssociation Us { get; }

    public TimeSpan Now { get; set; } = TimeSpan.FromSeconds(1);

    public List<SctpEvent> Events { get; } = [];

    public static InitChunk Init(uint tag, uint tsn = 1000) => new()
    {
        InitiateTag = tag,
        AdvertisedReceiverWindow = 128 * 1024,
        OutboundStreams = 16,
        InboundStreams = 16,
        InitialTsn = tsn,
    };

    /// <summary>Sends a packet to us and returns every packet we send back.</summary>
    public List<SctpPacket> Send(uint tag, params Chunk[] chunks)
    {
        Us.HandlePacket(new SctpPacket { SourcePort = 5000, DestinationPort = 5000, VerificationTag = tag, Chunks = [.. chunks] }.Serialize(), Now);
        return Drain();
    }

    public List<SctpPacket> Drain()
    {
        var packets = new List<SctpPacket>();
        var buffer = new byte[2048];
        int n;
        while ((n = Us.PollPacket(buffer, Now)) > 0)
        {
            packets.Add(SctpPacket.Parse(buffer.AsSpan(0, n)));
        }

        while (Us.TryPollEvent(out var e))
        {
            Events.Add(e);
        }

        return packets;
    }

    /// <summary>Sends INIT with <paramref name="peerTag"/>; returns our INIT-ACK's tag and state cookie.</summary>
    public (uint OurTag, byte[] Cookie) InitAck(uint peerTag)
    {
        var reply = Assert.Single(Send(0, Init(peerTag)));
        Assert.Equal(peerTag, reply.VerificationTag);
        var initAck = Assert.IsType<InitChunk>(Assert.Single(reply.Chunks));
        Assert.True(initAck.IsAck);
        return (initAck.InitiateTag, initAck.StateCookie!);
    }

    public List<SctpPacket> CookieEcho(uint ourTag, byte[] cookie) => Send(ourTag, new CookieEchoChunk(cookie));

    /// <summary>A passive handshake: INIT from the peer, COOKIE-ECHO back; we end up ESTABLISHED.</summary>
    public (uint OurTag, byte[] Cookie) Establish(uint peerTag)
    {
        var (ourTag, cookie) = InitAck(peerTag);
        var reply = CookieEcho(ourTag, cookie);
        Assert.Equal(ChunkType.CookieAck, Assert.Single(Assert.Single(reply).Chunks).Type);
        Assert.Equal(SctpAssociationState.Established, Us.State);
        return (ourTag, cookie);
    }
}
