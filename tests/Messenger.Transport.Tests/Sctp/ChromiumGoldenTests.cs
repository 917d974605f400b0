using Messenger.Transport.Sctp;
using Messenger.Transport.Sctp.Chunks;

namespace Messenger.Transport.Tests.Sctp;

/// <summary>
/// SCTP packets Chromium's dcSCTP sent to our PeerConnection inside DTLS (the bytes our SCTP layer receives after
/// decryption), captured from Debian Chromium 156.0.8078.79 in the ChromiumInteropTests run (messenger offers,
/// Chromium answers) with its packet log switched on: --enable-logging=stderr
/// --vmodule=dcsctp_transport=1,text_pcap_packet_observer=1 prints every packet in text2pcap form.
/// </summary>
public class ChromiumGoldenTests
{
    // Chromium's INIT: a_rwnd 5 MiB, 65535 streams each way, FORWARD-TSN supported, supported extensions RE-CONFIG
    // and FORWARD-TSN; nothing else (no AUTH, no I-DATA, no zero checksum).
    internal const string ChromiumInit =
        "13881388000000008a98e4400100001e5ccd669500500000ffffffff12abbffcc00000048008000682c00000";

    // Our INIT crossed Chromium's (both sides connect once DTLS is up): its INIT-ACK to ours keeps the initiate tag
    // and TSN of its own INIT (RFC 9260 §5.2.1) and carries a 52-byte dcSCTP state cookie.
    internal const string ChromiumInitAckInCollision =
        "13881388d79f9b91dc9c875c020000525ccd669500500000ffffffff12abbffc000700346463534354503030d79f9b915ccd6695" +
        "5bd8dd9012abbffc0050000000000000000000000100010000000000ffffffffc00000048008000682c00000";

    [Fact]
    public void Parse_ChromiumInit_ReadsFieldsAndReserializesByteForByte()
    {
        var packet = SctpPacket.Parse(Convert.FromHexString(ChromiumInit));

        Assert.Equal(5000, packet.SourcePort);
        Assert.Equal(5000, packet.DestinationPort);
        Assert.Equal(0u, packet.VerificationTag);
        var init = Assert.IsType<InitChunk>(Assert.Single(packet.Chunks));
        Assert.False(init.IsAck);
        Assert.Equal(0x5ccd6695u, init.InitiateTag);
        Assert.Equal(5u * 1024 * 1024, init.AdvertisedReceiverWindow);
        Assert.Equal(65535, init.OutboundStreams);
        Assert.Equal(65535, init.InboundStreams);
        Assert.Equal(0x12abbffcu, init.InitialTsn);
        Assert.True(init.SupportsForwardTsn);
        Assert.True(init.SupportsExtension(ChunkType.ReConfig));
        Assert.True(init.SupportsExtension(ChunkType.ForwardTsn));
        Assert.Equal(2, init.Parameters.Count);

        Assert.Equal(ChromiumInit, Convert.ToHexStringLower(packet.Serialize()));
    }

    [Fact]
    public void Parse_ChromiumInitAckInCollision_ReadsCookieAndReserializesByteForByte()
    {
        var packet = SctpPacket.Parse(Convert.FromHexString(ChromiumInitAckInCollision));

        Assert.Equal(0xd79f9b91u, packet.VerificationTag);
        var initAck = Assert.IsType<InitChunk>(Assert.Single(packet.Chunks));
        Assert.True(initAck.IsAck);
        Assert.Equal(0x5ccd6695u, initAck.InitiateTag);
        Assert.Equal(0x12abbffcu, initAck.InitialTsn);
        Assert.Equal(65535, initAck.OutboundStreams);
        Assert.NotNull(initAck.StateCookie);
        Assert.Equal(48, initAck.StateCookie!.Length);
        Assert.StartsWith("dcSCTP00", System.Text.Encoding.ASCII.GetString(initAck.StateCookie));
        Assert.True(initAck.SupportsForwardTsn);
        Assert.True(initAck.SupportsExtension(ChunkType.ReConfig));

        Assert.Equal(ChromiumInitAckInCollision, Convert.ToHexStringLower(packet.Serialize()));
    }

    [Fact]
    public void ChromiumInit_IsAnsweredWithAnInitAckThatAdvertisesTheSameExtensions()
    {
        var us = new SctpAssociation(new SctpAssociationOptions { RandomSeed = 156 });
        var now = TimeSpan.FromSeconds(1);

        us.HandlePacket(Convert.FromHexString(ChromiumInit), now);

        var buffer = new byte[2048];
        var n = us.PollPacket(buffer, now);
        Assert.True(n > 0, "no reply to Chromium's INIT");
        var reply = SctpPacket.Parse(buffer.AsSpan(0, n));
        Assert.Equal(0x5ccd6695u, reply.VerificationTag);
        var initAck = Assert.IsType<InitChunk>(Assert.Single(reply.Chunks));
        Assert.True(initAck.IsAck);
        Assert.NotNull(initAck.StateCookie);
        Assert.True(initAck.SupportsForwardTsn);
        Assert.True(initAck.SupportsExtension(ChunkType.ReConfig));
        Assert.Equal(0, us.PollPacket(buffer, now));
    }
}
