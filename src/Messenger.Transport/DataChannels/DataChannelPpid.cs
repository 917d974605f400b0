namespace Messenger.Transport.DataChannels;

/// <summary>SCTP payload protocol identifiers of WebRTC data channels (RFC 8831 §8, RFC 8832 §8.1).</summary>
internal static class DataChannelPpid
{
    public const uint Dcep = 50;
    public const uint String = 51;
    public const uint Binary = 53;

    /// <summary>RFC 8831 §6.6: an empty message is sent as one zero byte with these PPIDs.</summary>
    public const uint StringEmpty = 56;
    public const uint BinaryEmpty = 57;
}
