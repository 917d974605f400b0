namespace Messenger.Plugins.Preview.Image;

/// <summary>Recognises the image formats this plugin previews by their magic bytes, never by file name.</summary>
internal static class ImageContentSniffer
{
    private static ReadOnlySpan<byte> Png => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    public static string? Sniff(ReadOnlySpan<byte> header)
    {
        if (header.Length >= 3 && header[0] == 0xFF && header[1] == 0xD8 && header[2] == 0xFF)
        {
            return "image/jpeg";
        }

        if (header.StartsWith(Png))
        {
            return "image/png";
        }

        if (header.StartsWith("GIF87a"u8) || header.StartsWith("GIF89a"u8))
        {
            return "image/gif";
        }

        if (header.Length >= 12 && header.StartsWith("RIFF"u8) && header.Slice(8, 4).SequenceEqual("WEBP"u8))
        {
            return "image/webp";
        }

        if (header.StartsWith("II*\0"u8) || header.StartsWith("MM\0*"u8))
        {
            return "image/tiff";
        }

        return IsAvif(header) ? "image/avif" : null;
    }

    // ISO BMFF: [box size][ftyp][major brand][minor version][compatible brands...]; AVIF names avif/avis among them.
    private static bool IsAvif(ReadOnlySpan<byte> header)
    {
        if (header.Length < 16 || !header.Slice(4, 4).SequenceEqual("ftyp"u8))
        {
            return false;
        }

        var boxSize = (header[0] << 24) | (header[1] << 16) | (header[2] << 8) | header[3];
        if (boxSize < 16 || boxSize % 4 != 0)
        {
            return false;
        }

        var brands = header[..Math.Min(boxSize, header.Length)];
        for (var offset = 8; offset + 4 <= brands.Length; offset += 4)
        {
            // Offset 12 is the minor version, not a brand.
            if (offset != 12 && (brands.Slice(offset, 4).SequenceEqual("avif"u8) || brands.Slice(offset, 4).SequenceEqual("avis"u8)))
            {
                return true;
            }
        }

        return false;
    }
}
