using System.Numerics;
using System.Runtime.InteropServices;

namespace Messenger.Plugins.FileTransfer.Protocol;

/// <summary>CRC-32C (Castagnoli, as iSCSI and SCTP use), with the hardware instruction where there is one.</summary>
public static class Crc32CChecksum
{
    /// <summary>The CRC-32C of <paramref name="data"/> (initial value and final xor 0xFFFFFFFF; "123456789" → 0xE3069283).</summary>
    /// <param name="data">The bytes.</param>
    /// <returns>The checksum.</returns>
    public static uint Compute(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        var longs = MemoryMarshal.Cast<byte, ulong>(data);
        foreach (var value in longs)
        {
            crc = BitOperations.Crc32C(crc, value);
        }

        foreach (var value in data[(longs.Length * sizeof(ulong))..])
        {
            crc = BitOperations.Crc32C(crc, value);
        }

        return ~crc;
    }
}
