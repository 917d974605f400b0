namespace Messenger.Transport.Stun;

/// <summary>What a datagram on the peer connection's one UDP port carries.</summary>
public enum DatagramKind
{
    Unknown,
    Stun,
    Zrtp,
    Dtls,
    TurnChannel,
    Rtp,
}

/// <summary>Sorts datagrams by their first byte, as RFC 7983 §7 (updated by RFC 9443) lays the ranges out.</summary>
public static class DatagramDemultiplexer
{
    public static DatagramKind Classify(ReadOnlySpan<byte> datagram)
    {
        if (datagram.IsEmpty)
        {
            return DatagramKind.Unknown;
        }

        return datagram[0] switch
        {
            <= 3 => DatagramKind.Stun,
            >= 16 and <= 19 => DatagramKind.Zrtp,
            >= 20 and <= 63 => DatagramKind.Dtls,
            >= 64 and <= 79 => DatagramKind.TurnChannel,
            >= 128 and <= 191 => DatagramKind.Rtp,
            _ => DatagramKind.Unknown,
        };
    }
}
