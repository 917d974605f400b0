namespace Messenger.Transport.Stun;

/// <summary>The FINGERPRINT value: CRC-32 (ISO/IEEE 802.3 polynomial) XOR 0x5354554e (RFC 8489 §14.7).</summary>
internal static class StunFingerprint
{
    public const uint XorValue = 0x5354554e;

    private static readonly uint[] Table = BuildTable();

    public static uint Compute(ReadOnlySpan<byte> data)
    {
        var crc = uint.MaxValue;
        foreach (var b in data)
        {
            crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }

        return ~crc ^ XorValue;
    }

    // Reflected CRC-32, polynomial 0x04C11DB7 (0xEDB88320 bit-reversed), as RFC 1952 §8 defines it.
    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            var c = n;
            for (var k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            }

            table[n] = c;
        }

        return table;
    }
}
