namespace Messenger.Plugins.Preview.Video;

/// <summary>Recognises the video containers this plugin previews by their magic bytes, never by file name.</summary>
internal static class VideoContentSniffer
{
    private static ReadOnlySpan<byte> Ebml => [0x1A, 0x45, 0xDF, 0xA3];

    private static ReadOnlySpan<byte> MpegPackHeader => [0x00, 0x00, 0x01, 0xBA];

    public static string? Sniff(ReadOnlySpan<byte> header)
    {
        if (header.Length >= 12 && header.Slice(4, 4).SequenceEqual("ftyp"u8))
        {
            return IsoMediaType(header);
        }

        if (header.StartsWith(Ebml))
        {
            // The EBML header names its DocType within the first few dozen bytes.
            return header.IndexOf("webm"u8) >= 0 ? "video/webm" : header.IndexOf("matroska"u8) >= 0 ? "video/x-matroska" : null;
        }

        if (header.Length >= 12 && header.StartsWith("RIFF"u8) && header.Slice(8, 4).SequenceEqual("AVI "u8))
        {
            return "video/x-msvideo";
        }

        // An MPEG program stream starts with a pack header whose next byte has marker bits 01 (MPEG-2) or 0010 (MPEG-1).
        if (header.Length >= 5 && header.StartsWith(MpegPackHeader) && ((header[4] & 0xC0) == 0x40 || (header[4] & 0xF0) == 0x20))
        {
            return "video/mpeg";
        }

        return null;
    }

    // ISO BMFF and QuickTime: the major brand after "ftyp" says what the file is; still images and pure audio are not ours.
    private static string? IsoMediaType(ReadOnlySpan<byte> header)
    {
        var boxSize = (header[0] << 24) | (header[1] << 16) | (header[2] << 8) | header[3];
        if (boxSize < 16 || boxSize % 4 != 0 || boxSize > 1024)
        {
            return null;
        }

        var brand = header.Slice(8, 4);
        if (brand.SequenceEqual("qt  "u8))
        {
            return "video/quicktime";
        }

        return IsVideoBrand(brand) ? "video/mp4" : null;
    }

    private static bool IsVideoBrand(ReadOnlySpan<byte> brand) =>
        brand.StartsWith("iso"u8) || brand.StartsWith("mp4"u8) || brand.StartsWith("avc"u8) || brand.StartsWith("3g"u8)
        || brand.SequenceEqual("M4V "u8) || brand.SequenceEqual("M4VH"u8) || brand.SequenceEqual("M4VP"u8)
        || brand.SequenceEqual("mmp4"u8) || brand.SequenceEqual("dash"u8) || brand.SequenceEqual("f4v "u8)
        || brand.SequenceEqual("XAVC"u8) || brand.SequenceEqual("MSNV"u8);
}
