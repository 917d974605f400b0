using System.Buffers.Binary;
using Messenger.Transport.Sctp;

namespace Messenger.Transport.Tests.Sctp;

public class Crc32CTests
{
    // RFC 3720 Appendix B.4 test vectors; the RFC lists the CRC bytes in wire (little-endian) order.
    [Theory]
    [InlineData("zeros", "aa36918a")]
    [InlineData("ones", "43aba862")]
    [InlineData("incrementing", "4e79dd46")]
    [InlineData("decrementing", "5cdb3f11")]
    public void Compute_Rfc3720Vectors_MatchPublishedBytes(string pattern, string expectedWireHex)
    {
        var data = new byte[32];
        for (var i = 0; i < 32; i++)
        {
            data[i] = pattern switch
            {
                "zeros" => 0,
                "ones" => 0xFF,
                "incrementing" => (byte)i,
                _ => (byte)(31 - i),
            };
        }

        var wire = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(wire, Crc32C.Compute(data));
        Assert.Equal(expectedWireHex, Convert.ToHexStringLower(wire));
    }

    [Fact]
    public void Compute_Rfc3720IscsiReadPdu_MatchesPublishedBytes()
    {
        // RFC 3720 B.4: an iSCSI SCSI Read (10) command PDU; CRC bytes "56 3a 96 d9".
        var pdu = Convert.FromHexString(
            "01c00000" + "00000000" + "00000000" + "00000000" + "14000000" + "00000400" + "00000014" + "00000018" + "28000000" + "00000000" + "02000000" + "00000000");
        var wire = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(wire, Crc32C.Compute(pdu));
        Assert.Equal("563a96d9", Convert.ToHexStringLower(wire));
    }

    [Fact]
    public void Compute_CheckString_IsStandardCheckValue()
    {
        Assert.Equal(0xE3069283u, Crc32C.Compute("123456789"u8));
    }

    [Fact]
    public void Compute_AnyLength_MatchesBitwiseReference()
    {
        var random = new Random(7);
        for (var length = 0; length < 70; length++)
        {
            var data = new byte[length];
            random.NextBytes(data);
            Assert.Equal(Reference(data), Crc32C.Compute(data));
        }
    }

    private static uint Reference(byte[] data)
    {
        var crc = uint.MaxValue;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
            }
        }

        return ~crc;
    }
}
