using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Messenger.Transport.Sctp;

/// <summary>The SCTP checksum: CRC-32C (Castagnoli), RFC 9260 Appendix B.</summary>
internal static class Crc32C
{
    /// <summary>Computes CRC-32C over <paramref name="data"/>, with the initial and final inversion.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => ~Append(uint.MaxValue, data);

    // BitOperations.Crc32C uses the SSE4.2/ARM CRC instructions when present; feed it 8 bytes at a time.
    private static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        var words = MemoryMarshal.Cast<byte, ulong>(data);
        foreach (var word in words)
        {
            crc = BitOperations.Crc32C(crc, BitConverter.IsLittleEndian ? word : BinaryPrimitives.ReverseEndianness(word));
        }

        for (var i = words.Length * sizeof(ulong); i < data.Length; i++)
        {
            crc = BitOperations.Crc32C(crc, data[i]);
        }

        return crc;
    }

    /// <summary>Computes the checksum of an SCTP packet whose checksum field (bytes 8..11) is treated as zero.</summary>
    public static uint ComputePacketChecksum(ReadOnlySpan<byte> packet)
    {
        // RFC 9260 §6.8: the checksum is computed with the checksum field itself set to zero.
        var crc = Append(uint.MaxValue, packet[..8]);
        crc = BitOperations.Crc32C(crc, 0u);
        return ~Append(crc, packet[12..]);
    }

    /// <summary>Writes the packet checksum into bytes 8..11, little-endian as RFC 9260 Appendix B stores it.</summary>
    public static void StampPacket(Span<byte> packet)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(packet[8..], ComputePacketChecksum(packet));
    }
}
