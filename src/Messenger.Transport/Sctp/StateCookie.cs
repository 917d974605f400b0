using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Messenger.Transport.Sctp;

/// <summary>
/// The state cookie of an INIT-ACK (RFC 9260 §5.1.3): everything needed to build the association later, signed
/// with HMAC-SHA256 under a per-association secret, and stamped with its creation time for the lifetime check. The
/// tie-tags are the tags of the association that existed when the INIT arrived (zero if none), so a COOKIE-ECHO can
/// prove it answers that association (RFC 9260 §5.2.2, §5.2.4).
/// </summary>
internal readonly record struct StateCookie(
    TimeSpan Created,
    uint LocalTag,
    uint LocalInitialTsn,
    uint PeerTag,
    uint PeerInitialTsn,
    uint PeerReceiveWindow,
    ushort PeerOutboundStreams,
    ushort PeerInboundStreams,
    bool PeerSupportsForwardTsn,
    bool PeerSupportsReConfig,
    uint LocalTieTag = 0,
    uint PeerTieTag = 0)
{
    public const byte Version = 2;
    private const int BodyLength = 42;
    private const int MacLength = 32;
    public const int Length = BodyLength + MacLength;

    public byte[] Sign(ReadOnlySpan<byte> secret)
    {
        var cookie = new byte[Length];
        var s = cookie.AsSpan();
        s[0] = Version;
        BinaryPrimitives.WriteInt64BigEndian(s[1..], Created.Ticks);
        BinaryPrimitives.WriteUInt32BigEndian(s[9..], LocalTag);
        BinaryPrimitives.WriteUInt32BigEndian(s[13..], LocalInitialTsn);
        BinaryPrimitives.WriteUInt32BigEndian(s[17..], PeerTag);
        BinaryPrimitives.WriteUInt32BigEndian(s[21..], PeerInitialTsn);
        BinaryPrimitives.WriteUInt32BigEndian(s[25..], PeerReceiveWindow);
        BinaryPrimitives.WriteUInt16BigEndian(s[29..], PeerOutboundStreams);
        BinaryPrimitives.WriteUInt16BigEndian(s[31..], PeerInboundStreams);
        s[33] = (byte)((PeerSupportsForwardTsn ? 1 : 0) | (PeerSupportsReConfig ? 2 : 0));
        BinaryPrimitives.WriteUInt32BigEndian(s[34..], LocalTieTag);
        BinaryPrimitives.WriteUInt32BigEndian(s[38..], PeerTieTag);
        HMACSHA256.HashData(secret, s[..BodyLength], s[BodyLength..]);
        return cookie;
    }

    /// <summary>Returns the cookie if its MAC is ours, else null (RFC 9260 §5.1.5 step 2: silently discard).</summary>
    public static StateCookie? Verify(ReadOnlySpan<byte> cookie, ReadOnlySpan<byte> secret)
    {
        if (cookie.Length != Length || cookie[0] != Version)
        {
            return null;
        }

        Span<byte> mac = stackalloc byte[MacLength];
        HMACSHA256.HashData(secret, cookie[..BodyLength], mac);
        if (!CryptographicOperations.FixedTimeEquals(mac, cookie[BodyLength..]))
        {
            return null;
        }

        return new StateCookie(
            TimeSpan.FromTicks(BinaryPrimitives.ReadInt64BigEndian(cookie[1..])),
            BinaryPrimitives.ReadUInt32BigEndian(cookie[9..]),
            BinaryPrimitives.ReadUInt32BigEndian(cookie[13..]),
            BinaryPrimitives.ReadUInt32BigEndian(cookie[17..]),
            BinaryPrimitives.ReadUInt32BigEndian(cookie[21..]),
            BinaryPrimitives.ReadUInt32BigEndian(cookie[25..]),
            BinaryPrimitives.ReadUInt16BigEndian(cookie[29..]),
            BinaryPrimitives.ReadUInt16BigEndian(cookie[31..]),
            (cookie[33] & 1) != 0,
            (cookie[33] & 2) != 0,
            BinaryPrimitives.ReadUInt32BigEndian(cookie[34..]),
            BinaryPrimitives.ReadUInt32BigEndian(cookie[38..]));
    }
}
