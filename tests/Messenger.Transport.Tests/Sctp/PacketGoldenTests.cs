using Messenger.Transport.Sctp;
using Messenger.Transport.Sctp.Chunks;

namespace Messenger.Transport.Tests.Sctp;

public class PacketGoldenTests
{
    // Captured from usrsctp's tsctp (Debian libusrsctp-examples) over UDP encapsulation: its INIT to port 5001.
    internal const string UsrsctpInit =
        "e7251389000000000b003d5d0100006a54a4e65c00020000000a08004a3538d3c00600080000000080000004c000000480080009" +
        "c00fc1808200000080020024d48f88f4afeac1575e7ab88a1382fcd71ae8e5acba6c51fba3b9420f3f4aa41780040006000100008003" +
        "000680c10000000c000600050000";

    // The INIT-ACK a tsctp server sent back to that INIT, state cookie included.
    internal const string UsrsctpInitAck =
        "1389e72554a4e65c56ecdd35020001bcf727c39700020000000a0800c05e3cbac00600080000000080000004c000000480080009c00fc1" +
        "808200000080020024ee6f13c6d2de2bb4856c05184ee45b05604f386b3eb583d4b2206bacdaa35f5680040006000100008003000680c1" +
        "0000000701584b414d452d42534420312e31000000001151046b0000000087ef06000000000060ea000000000000000000005ce6a454f7" +
        "27c3977f000001000000000000000000000000050000007f0000010000000000000000000000000500000000000000e725138901000000" +
        "01010100000000000100006a54a4e65c00020000000a08004a3538d3c00600080000000080000004c000000480080009c00fc180820000" +
        "0080020024d48f88f4afeac1575e7ab88a1382fcd71ae8e5acba6c51fba3b9420f3f4aa41780040006000100008003000680c10000000c" +
        "000600050000020001bcf727c39700020000000a0800c05e3cbac00600080000000080000004c000000480080009c00fc180820000008002" +
        "0024ee6f13c6d2de2bb4856c05184ee45b05604f386b3eb583d4b2206bacdaa35f5680040006000100008003000680c100004b9eeb4cbf90" +
        "71a627769f1e6ce937ac0e6915fb";

    [Fact]
    public void Parse_UsrsctpInit_ReadsFieldsAndReserializesByteForByte()
    {
        var bytes = Convert.FromHexString(UsrsctpInit);
        var packet = SctpPacket.Parse(bytes);

        Assert.Equal(0xe725, packet.SourcePort);
        Assert.Equal(5001, packet.DestinationPort);
        Assert.Equal(0u, packet.VerificationTag);
        var init = Assert.IsType<InitChunk>(Assert.Single(packet.Chunks));
        Assert.False(init.IsAck);
        Assert.Equal(0x54a4e65cu, init.InitiateTag);
        Assert.Equal(131072u, init.AdvertisedReceiverWindow);
        Assert.Equal(10, init.OutboundStreams);
        Assert.Equal(2048, init.InboundStreams);
        Assert.Equal(0x4a3538d3u, init.InitialTsn);
        Assert.True(init.SupportsForwardTsn);
        Assert.True(init.SupportsExtension(ChunkType.ReConfig));
        Assert.Equal(8, init.Parameters.Count);

        Assert.Equal(UsrsctpInit, Convert.ToHexStringLower(packet.Serialize()));
    }

    [Fact]
    public void Parse_UsrsctpInitAck_ReadsCookieAndReserializesByteForByte()
    {
        var bytes = Convert.FromHexString(UsrsctpInitAck);
        var packet = SctpPacket.Parse(bytes);

        Assert.Equal(0x54a4e65cu, packet.VerificationTag);
        var initAck = Assert.IsType<InitChunk>(Assert.Single(packet.Chunks));
        Assert.True(initAck.IsAck);
        Assert.Equal(0xf727c397u, initAck.InitiateTag);
        Assert.NotNull(initAck.StateCookie);
        Assert.StartsWith("KAME-BSD 1.1", System.Text.Encoding.ASCII.GetString(initAck.StateCookie!));

        Assert.Equal(UsrsctpInitAck, Convert.ToHexStringLower(packet.Serialize()));
    }

    [Fact]
    public void Parse_CorruptedChecksum_ThrowsParseError()
    {
        var bytes = Convert.FromHexString(UsrsctpInit);
        bytes[20] ^= 0x01;
        Assert.Throws<SctpParseException>(() => SctpPacket.Parse(bytes));
    }

    // Chunk bodies written by hand from the RFC figures; each parses to the stated fields and writes back identically.
    [Theory]
    [InlineData("0003001512345678000100070000003568656c6c6f000000", "DATA B|E, TSN 0x12345678, sid 1, ssn 7, ppid 53, 'hello'")]
    [InlineData("03000020000003e8005000000002000200020003000500060000" + "03e9000003ea", "SACK cum 1000, 2 gaps, 2 dups")]
    [InlineData("040000100001000c0102030405060708", "HEARTBEAT with 8-byte info")]
    [InlineData("0601000c000c000875736572", "ABORT T-bit, user-initiated abort 'user'")]
    [InlineData("0700000800000064", "SHUTDOWN cum 100")]
    [InlineData("08000004", "SHUTDOWN-ACK")]
    [InlineData("0e010004", "SHUTDOWN-COMPLETE T-bit")]
    [InlineData("0b000004", "COOKIE-ACK")]
    [InlineData("c00000100000012c00010005000300ff", "FORWARD-TSN 300, sid1 ssn5, sid3 ssn255")]
    [InlineData("82000016000d001200000001000000020000000300040000", "RE-CONFIG outgoing reset of stream 4")]
    [InlineData("8200000c0010000800000001", "RE-CONFIG incomplete response parameter kept raw")]
    [InlineData("0900000c0006000801020304", "ERROR unrecognized chunk")]
    [InlineData("4f00000601020000", "unknown type 0x4f")]
    public void ParseChunk_HandWritten_RoundTripsByteForByte(string hex, string description)
    {
        var bytes = Convert.FromHexString(hex);
        var reader = new ChunkReaderProbe(bytes);
        var chunk = reader.Single();
        var written = new byte[chunk.PaddedLength];
        chunk.WriteTo(written);
        Assert.True(hex == Convert.ToHexStringLower(written), description);
    }

    [Fact]
    public void ParseChunk_Sack_ReadsGapBlocksAndDuplicates()
    {
        var chunk = new ChunkReaderProbe(Convert.FromHexString("03000020000003e8005000000002000200020003000500060000" + "03e9000003ea")).Single();
        var sack = Assert.IsType<SackChunk>(chunk);
        Assert.Equal(1000u, sack.CumulativeTsnAck);
        Assert.Equal(0x500000u, sack.AdvertisedReceiverWindow);
        Assert.Equal([(2, 3), (5, 6)], sack.GapBlocks);
        Assert.Equal([1001u, 1002u], sack.DuplicateTsns);
    }

    [Fact]
    public void ParseChunk_ReConfig_ReadsOutgoingResetRequest()
    {
        var chunk = new ChunkReaderProbe(Convert.FromHexString("82000016000d001200000001000000020000000300040000")).Single();
        var reconfig = Assert.IsType<ReConfigChunk>(chunk);
        var request = OutgoingResetRequest.Parse(Assert.Single(reconfig.Parameters));
        Assert.Equal(1u, request.RequestSequence);
        Assert.Equal(2u, request.ResponseSequence);
        Assert.Equal(3u, request.SenderLastTsn);
        Assert.Equal([(ushort)4], request.Streams);
        Assert.Equal(reconfig.Parameters[0].Value, request.ToParameter().Value);
    }

    [Fact]
    public void ParseChunk_DataFields_AreRead()
    {
        var chunk = new ChunkReaderProbe(Convert.FromHexString("0003001512345678000100070000003568656c6c6f000000")).Single();
        var data = Assert.IsType<DataChunk>(chunk);
        Assert.Equal(0x12345678u, data.Tsn);
        Assert.Equal(1, data.StreamId);
        Assert.Equal(7, data.StreamSequenceNumber);
        Assert.Equal(53u, data.PayloadProtocolId);
        Assert.Equal("hello"u8.ToArray(), data.Payload.ToArray());
    }

    private sealed class ChunkReaderProbe(byte[] body)
    {
        public Chunk Single()
        {
            var reader = new ChunkReader(body);
            Assert.True(reader.TryRead(out var type, out var flags, out var value));
            var chunk = Chunk.Parse(type, flags, value);
            Assert.False(reader.TryRead(out _, out _, out _));
            return chunk;
        }
    }
}
