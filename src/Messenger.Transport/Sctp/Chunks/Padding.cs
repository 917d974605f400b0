namespace Messenger.Transport.Sctp.Chunks;

/// <summary>RFC 9260 §3.2: chunks and parameters are padded to a multiple of four bytes.</summary>
internal static class Padding
{
    public static int Align4(int length) => (length + 3) & ~3;
}
