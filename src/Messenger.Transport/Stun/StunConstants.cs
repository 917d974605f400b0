namespace Messenger.Transport.Stun;

/// <summary>The four message classes, encoded in bits C1 and C0 of the message type (RFC 8489 §5).</summary>
public enum StunClass
{
    Request = 0,
    Indication = 1,
    SuccessResponse = 2,
    ErrorResponse = 3,
}

/// <summary>STUN methods we use (RFC 8489 §18.2).</summary>
public static class StunMethod
{
    public const ushort Binding = 0x001;
}

/// <summary>Attribute types (RFC 8489 §18.3, RFC 8445 §16.1); below 0x8000 a receiver must understand them.</summary>
public static class StunAttributeType
{
    public const ushort MappedAddress = 0x0001;
    public const ushort Username = 0x0006;
    public const ushort MessageIntegrity = 0x0008;
    public const ushort ErrorCode = 0x0009;
    public const ushort UnknownAttributes = 0x000A;
    public const ushort Realm = 0x0014;
    public const ushort Nonce = 0x0015;
    public const ushort XorMappedAddress = 0x0020;
    public const ushort Priority = 0x0024;
    public const ushort UseCandidate = 0x0025;
    public const ushort Software = 0x8022;
    public const ushort Fingerprint = 0x8028;
    public const ushort IceControlled = 0x8029;
    public const ushort IceControlling = 0x802A;

    /// <summary>RFC 8489 §15: types 0x0000–0x7FFF are comprehension-required.</summary>
    public static bool IsComprehensionRequired(ushort type) => type < 0x8000;

    internal static bool IsKnown(ushort type) => type is MappedAddress or Username or MessageIntegrity or ErrorCode
        or UnknownAttributes or Realm or Nonce or XorMappedAddress or Priority or UseCandidate or Software
        or Fingerprint or IceControlled or IceControlling;
}

/// <summary>Why bytes are not an acceptable STUN message.</summary>
public enum StunParseError
{
    None,
    TooShort,
    NotStun,
    BadMagicCookie,
    BadLength,
    TruncatedAttribute,
    MalformedAttribute,
    FingerprintNotLast,
    FingerprintMismatch,
}

/// <summary>An ERROR-CODE value (RFC 8489 §14.8): a code from 300 to 699 and a reason phrase.</summary>
public sealed record StunErrorCode(int Code, string Reason)
{
    public const int TryAlternate = 300;
    public const int BadRequest = 400;
    public const int Unauthorized = 401;
    public const int UnknownAttribute = 420;

    /// <summary>RFC 8445 §7.3.1.1: the sender of a request must switch its ICE role.</summary>
    public const int RoleConflict = 487;
}
