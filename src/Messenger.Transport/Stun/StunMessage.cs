using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Messenger.Transport.Stun;

/// <summary>
/// A STUN message (RFC 8489): header, transaction id and ordered attributes. Build one with the Add methods and
/// <see cref="Encode"/> it, or <see cref="TryParse"/> received bytes; typed getters read the attributes.
/// </summary>
public sealed class StunMessage
{
    public const int HeaderLength = 20;
    public const uint MagicCookie = 0x2112A442;
    private const int IntegrityLength = 20;
    private const int MaxReasonBytes = 763;

    private readonly List<StunAttributeEntry> _attributes = [];
    private byte[]? _integrityInput;
    private byte[]? _receivedIntegrity;

    public StunMessage(StunClass messageClass, ushort method, StunTransactionId transactionId)
    {
        if (method > 0xFFF)
        {
            throw new ArgumentOutOfRangeException(nameof(method), "A STUN method has 12 bits (RFC 8489 §5).");
        }

        Class = messageClass;
        Method = method;
        TransactionId = transactionId;
    }

    public StunClass Class { get; }

    public ushort Method { get; }

    public StunTransactionId TransactionId { get; }

    /// <summary>Attributes in wire order, MESSAGE-INTEGRITY and FINGERPRINT excluded (the encoder adds those).</summary>
    public IReadOnlyList<StunAttributeEntry> Attributes => _attributes;

    /// <summary>True when a parsed message carried MESSAGE-INTEGRITY; check it with <see cref="VerifyIntegrity"/>.</summary>
    public bool HasMessageIntegrity => _receivedIntegrity is not null;

    /// <summary>True when a parsed message carried a FINGERPRINT (already verified by the parser).</summary>
    public bool HasFingerprint { get; private set; }

    /// <summary>Comprehension-required attribute types the parser did not know; answer with a 420 (RFC 8489 §6.3).</summary>
    public IReadOnlyList<ushort> UnknownRequiredAttributes { get; private set; } = [];

    public string? Username => GetString(StunAttributeType.Username);

    public string? Realm => GetString(StunAttributeType.Realm);

    public string? Nonce => GetString(StunAttributeType.Nonce);

    public string? Software => GetString(StunAttributeType.Software);

    public IPEndPoint? XorMappedAddress =>
        TryGet(StunAttributeType.XorMappedAddress, out var value) ? ReadAddress(value.Span, xor: true, TransactionId) : null;

    public IPEndPoint? MappedAddress =>
        TryGet(StunAttributeType.MappedAddress, out var value) ? ReadAddress(value.Span, xor: false, TransactionId) : null;

    public uint? Priority =>
        TryGet(StunAttributeType.Priority, out var value) ? BinaryPrimitives.ReadUInt32BigEndian(value.Span) : null;

    public bool UseCandidate => TryGet(StunAttributeType.UseCandidate, out _);

    /// <summary>The ICE tie-breaker of a controlling agent (RFC 8445 §16.1).</summary>
    public ulong? IceControlling =>
        TryGet(StunAttributeType.IceControlling, out var value) ? BinaryPrimitives.ReadUInt64BigEndian(value.Span) : null;

    /// <summary>The ICE tie-breaker of a controlled agent (RFC 8445 §16.1).</summary>
    public ulong? IceControlled =>
        TryGet(StunAttributeType.IceControlled, out var value) ? BinaryPrimitives.ReadUInt64BigEndian(value.Span) : null;

    public StunErrorCode? ErrorCode
    {
        get
        {
            if (!TryGet(StunAttributeType.ErrorCode, out var value))
            {
                return null;
            }

            var span = value.Span;
            return new StunErrorCode((span[2] & 0x7) * 100 + span[3], Encoding.UTF8.GetString(span[4..]));
        }
    }

    public IReadOnlyList<ushort>? UnknownAttributes
    {
        get
        {
            if (!TryGet(StunAttributeType.UnknownAttributes, out var value))
            {
                return null;
            }

            var types = new ushort[value.Length / 2];
            for (var i = 0; i < types.Length; i++)
            {
                types[i] = BinaryPrimitives.ReadUInt16BigEndian(value.Span[(i * 2)..]);
            }

            return types;
        }
    }

    /// <summary>The first attribute of <paramref name="type"/>; RFC 8489 §14 has a receiver use the first.</summary>
    public bool TryGet(ushort type, out ReadOnlyMemory<byte> value)
    {
        foreach (var attribute in _attributes)
        {
            if (attribute.Type == type)
            {
                value = attribute.Value;
                return true;
            }
        }

        value = default;
        return false;
    }

    public StunMessage Add(ushort type, ReadOnlySpan<byte> value)
    {
        if (type is StunAttributeType.MessageIntegrity or StunAttributeType.Fingerprint)
        {
            throw new ArgumentException("MESSAGE-INTEGRITY and FINGERPRINT are added by Encode.", nameof(type));
        }

        if (value.Length > ushort.MaxValue)
        {
            throw new ArgumentException("An attribute value has at most 65535 bytes.", nameof(value));
        }

        _attributes.Add(new StunAttributeEntry(type, value.ToArray()));
        return this;
    }

    public StunMessage AddUsername(string username) => AddString(StunAttributeType.Username, username, 513);

    public StunMessage AddRealm(string realm) => AddString(StunAttributeType.Realm, realm, 763);

    public StunMessage AddNonce(string nonce) => AddString(StunAttributeType.Nonce, nonce, 763);

    public StunMessage AddSoftware(string software) => AddString(StunAttributeType.Software, software, 763);

    public StunMessage AddXorMappedAddress(IPEndPoint endPoint) => Add(StunAttributeType.XorMappedAddress, WriteAddress(endPoint, xor: true, TransactionId));

    public StunMessage AddMappedAddress(IPEndPoint endPoint) => Add(StunAttributeType.MappedAddress, WriteAddress(endPoint, xor: false, TransactionId));

    public StunMessage AddPriority(uint priority)
    {
        Span<byte> value = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(value, priority);
        return Add(StunAttributeType.Priority, value);
    }

    public StunMessage AddUseCandidate() => Add(StunAttributeType.UseCandidate, []);

    public StunMessage AddIceControlling(ulong tieBreaker) => AddUInt64(StunAttributeType.IceControlling, tieBreaker);

    public StunMessage AddIceControlled(ulong tieBreaker) => AddUInt64(StunAttributeType.IceControlled, tieBreaker);

    public StunMessage AddErrorCode(int code, string reason)
    {
        ArgumentNullException.ThrowIfNull(reason);
        ArgumentOutOfRangeException.ThrowIfLessThan(code, 300);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(code, 699);
        var reasonBytes = Encoding.UTF8.GetBytes(reason);
        if (reasonBytes.Length > MaxReasonBytes)
        {
            throw new ArgumentException("The reason phrase has at most 763 bytes (RFC 8489 §14.8).", nameof(reason));
        }

        var value = new byte[4 + reasonBytes.Length];
        value[2] = (byte)(code / 100);
        value[3] = (byte)(code % 100);
        reasonBytes.CopyTo(value, 4);
        return Add(StunAttributeType.ErrorCode, value);
    }

    public StunMessage AddUnknownAttributes(IReadOnlyCollection<ushort> types)
    {
        ArgumentNullException.ThrowIfNull(types);
        var value = new byte[types.Count * 2];
        var offset = 0;
        foreach (var type in types)
        {
            BinaryPrimitives.WriteUInt16BigEndian(value.AsSpan(offset), type);
            offset += 2;
        }

        return Add(StunAttributeType.UnknownAttributes, value);
    }

    /// <summary>
    /// Encodes the message; with a key it appends MESSAGE-INTEGRITY (HMAC-SHA1, RFC 8489 §14.5), then FINGERPRINT
    /// when asked (§14.7). Padding bytes are zero.
    /// </summary>
    public byte[] Encode(ReadOnlySpan<byte> integrityKey = default, bool fingerprint = false)
    {
        var length = 0;
        foreach (var attribute in _attributes)
        {
            length += 4 + Padded(attribute.Value.Length);
        }

        var attributesEnd = HeaderLength + length;
        var total = attributesEnd + (integrityKey.IsEmpty ? 0 : 4 + IntegrityLength) + (fingerprint ? 8 : 0);
        if (total - HeaderLength > ushort.MaxValue)
        {
            throw new InvalidOperationException("The message is longer than a STUN length field can say.");
        }

        var buffer = new byte[total];
        var type = EncodeType(Class, Method);
        BinaryPrimitives.WriteUInt16BigEndian(buffer, type);
        BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(4), MagicCookie);
        TransactionId.WriteTo(buffer.AsSpan(8));
        var offset = HeaderLength;
        foreach (var attribute in _attributes)
        {
            BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(offset), attribute.Type);
            BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(offset + 2), (ushort)attribute.Value.Length);
            attribute.Value.Span.CopyTo(buffer.AsSpan(offset + 4));
            offset += 4 + Padded(attribute.Value.Length);
        }

        if (!integrityKey.IsEmpty)
        {
            // RFC 8489 §14.5: the length field covers the MESSAGE-INTEGRITY attribute while the HMAC is computed.
            BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(2), (ushort)(offset + 4 + IntegrityLength - HeaderLength));
            BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(offset), StunAttributeType.MessageIntegrity);
            BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(offset + 2), IntegrityLength);
            ComputeIntegrity(integrityKey, buffer.AsSpan(0, offset), buffer.AsSpan(offset + 4, IntegrityLength));
            offset += 4 + IntegrityLength;
        }

        if (fingerprint)
        {
            // RFC 8489 §14.7: likewise the length covers FINGERPRINT, the last attribute.
            BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(2), (ushort)(offset + 8 - HeaderLength));
            BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(offset), StunAttributeType.Fingerprint);
            BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(offset + 2), 4);
            BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(offset + 4), StunFingerprint.Compute(buffer.AsSpan(0, offset)));
            offset += 8;
        }

        BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(2), (ushort)(offset - HeaderLength));
        return buffer;
    }

    /// <summary>Checks a parsed message's MESSAGE-INTEGRITY against <paramref name="key"/> in constant time.</summary>
    public bool VerifyIntegrity(ReadOnlySpan<byte> key)
    {
        if (_integrityInput is null || _receivedIntegrity is null)
        {
            return false;
        }

        Span<byte> expected = stackalloc byte[IntegrityLength];
        ComputeIntegrity(key, _integrityInput, expected);
        return CryptographicOperations.FixedTimeEquals(expected, _receivedIntegrity);
    }

    /// <summary>True when the first bytes look like a STUN header: top bits zero and the magic cookie (RFC 8489 §5).</summary>
    public static bool IsStun(ReadOnlySpan<byte> datagram) =>
        datagram.Length >= HeaderLength && (datagram[0] & 0xC0) == 0
        && BinaryPrimitives.ReadUInt32BigEndian(datagram[4..]) == MagicCookie;

    internal static ushort EncodeType(StunClass messageClass, ushort method)
    {
        // RFC 8489 §5: M11..M7 C1 M6..M4 C0 M3..M0.
        var c = (int)messageClass;
        return (ushort)((method & 0x000F) | ((method & 0x0070) << 1) | ((method & 0x0F80) << 2) | ((c & 1) << 4) | ((c & 2) << 7));
    }

    private static void ComputeIntegrity(ReadOnlySpan<byte> key, ReadOnlySpan<byte> input, Span<byte> destination)
    {
#pragma warning disable CA5350 // RFC 8489 §14.5 and every ICE peer use HMAC-SHA1 for MESSAGE-INTEGRITY.
        HMACSHA1.HashData(key, input, destination);
#pragma warning restore CA5350
    }

    private static int Padded(int length) => (length + 3) & ~3;

    private StunMessage AddString(ushort type, string value, int maxBytes)
    {
        ArgumentNullException.ThrowIfNull(value);
        var bytes = Encoding.UTF8.GetBytes(value);
        if (bytes.Length > maxBytes)
        {
            throw new ArgumentException($"The value has more than {maxBytes} bytes.", nameof(value));
        }

        return Add(type, bytes);
    }

    private StunMessage AddUInt64(ushort type, ulong value)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, value);
        return Add(type, bytes);
    }

    private string? GetString(ushort type) => TryGet(type, out var value) ? Encoding.UTF8.GetString(value.Span) : null;

    private static byte[] WriteAddress(IPEndPoint endPoint, bool xor, StunTransactionId transactionId)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        var address = endPoint.Address.IsIPv4MappedToIPv6 ? endPoint.Address.MapToIPv4() : endPoint.Address;
        var addressBytes = address.GetAddressBytes();
        var value = new byte[4 + addressBytes.Length];
        value[1] = address.AddressFamily == AddressFamily.InterNetwork ? (byte)1 : (byte)2;
        var port = (ushort)endPoint.Port;
        if (xor)
        {
            // RFC 8489 §14.2: port XOR the cookie's top 16 bits; address XOR cookie (and transaction id for IPv6).
            port ^= (ushort)(MagicCookie >> 16);
            XorWithCookieAndId(addressBytes, transactionId);
        }

        BinaryPrimitives.WriteUInt16BigEndian(value.AsSpan(2), port);
        addressBytes.CopyTo(value, 4);
        return value;
    }

    private static IPEndPoint ReadAddress(ReadOnlySpan<byte> value, bool xor, StunTransactionId transactionId)
    {
        var port = BinaryPrimitives.ReadUInt16BigEndian(value[2..]);
        var addressBytes = value[4..].ToArray();
        if (xor)
        {
            port ^= (ushort)(MagicCookie >> 16);
            XorWithCookieAndId(addressBytes, transactionId);
        }

        return new IPEndPoint(new IPAddress(addressBytes), port);
    }

    private static void XorWithCookieAndId(Span<byte> address, StunTransactionId transactionId)
    {
        Span<byte> mask = stackalloc byte[16];
        BinaryPrimitives.WriteUInt32BigEndian(mask, MagicCookie);
        transactionId.WriteTo(mask[4..]);
        for (var i = 0; i < address.Length; i++)
        {
            address[i] ^= mask[i];
        }
    }

    /// <summary>
    /// Parses a datagram. Total: any bytes give a message or a <see cref="StunParseError"/>, never an exception.
    /// A FINGERPRINT, when present, must be last and correct.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> datagram, [NotNullWhen(true)] out StunMessage? message, out StunParseError error)
    {
        message = null;
        error = Validate(datagram, out var length);
        if (error != StunParseError.None)
        {
            return false;
        }

        var type = BinaryPrimitives.ReadUInt16BigEndian(datagram);
        var method = (ushort)((type & 0x000F) | ((type >> 1) & 0x0070) | ((type >> 2) & 0x0F80));
        var messageClass = (StunClass)(((type >> 4) & 1) | ((type >> 7) & 2));
        var parsed = new StunMessage(messageClass, method, StunTransactionId.Read(datagram[8..]));
        var unknown = new List<ushort>();
        var end = HeaderLength + length;
        var offset = HeaderLength;
        var afterIntegrity = false;
        while (offset < end)
        {
            if (end - offset < 4)
            {
                error = StunParseError.TruncatedAttribute;
                return false;
            }

            var attributeType = BinaryPrimitives.ReadUInt16BigEndian(datagram[offset..]);
            var valueLength = BinaryPrimitives.ReadUInt16BigEndian(datagram[(offset + 2)..]);
            var next = offset + 4 + Padded(valueLength);
            if (next > end)
            {
                error = StunParseError.TruncatedAttribute;
                return false;
            }

            var value = datagram.Slice(offset + 4, valueLength);
            if (attributeType == StunAttributeType.Fingerprint)
            {
                if (next != end || valueLength != 4)
                {
                    error = valueLength != 4 ? StunParseError.MalformedAttribute : StunParseError.FingerprintNotLast;
                    return false;
                }

                // RFC 8489 §14.7: the CRC covers the message up to the FINGERPRINT attribute, length field as sent.
                if (StunFingerprint.Compute(datagram[..offset]) != BinaryPrimitives.ReadUInt32BigEndian(value))
                {
                    error = StunParseError.FingerprintMismatch;
                    return false;
                }

                parsed.HasFingerprint = true;
            }
            else if (afterIntegrity)
            {
                // RFC 8489 §14.5: only FINGERPRINT may follow MESSAGE-INTEGRITY; anything else is ignored.
            }
            else if (attributeType == StunAttributeType.MessageIntegrity)
            {
                if (valueLength != IntegrityLength)
                {
                    error = StunParseError.MalformedAttribute;
                    return false;
                }

                // The HMAC input is the message up to MESSAGE-INTEGRITY with the length field ending after it.
                var input = datagram[..offset].ToArray();
                BinaryPrimitives.WriteUInt16BigEndian(input.AsSpan(2), (ushort)(next - HeaderLength));
                parsed._integrityInput = input;
                parsed._receivedIntegrity = value.ToArray();
                afterIntegrity = true;
            }
            else
            {
                if (!IsWellFormed(attributeType, value))
                {
                    error = StunParseError.MalformedAttribute;
                    return false;
                }

                if (StunAttributeType.IsComprehensionRequired(attributeType) && !StunAttributeType.IsKnown(attributeType))
                {
                    unknown.Add(attributeType);
                }

                parsed._attributes.Add(new StunAttributeEntry(attributeType, value.ToArray()));
            }

            offset = next;
        }

        parsed.UnknownRequiredAttributes = unknown;
        message = parsed;
        return true;
    }

    private static StunParseError Validate(ReadOnlySpan<byte> datagram, out int length)
    {
        length = 0;
        if (datagram.Length < HeaderLength)
        {
            return StunParseError.TooShort;
        }

        if ((datagram[0] & 0xC0) != 0)
        {
            return StunParseError.NotStun;
        }

        if (BinaryPrimitives.ReadUInt32BigEndian(datagram[4..]) != MagicCookie)
        {
            return StunParseError.BadMagicCookie;
        }

        length = BinaryPrimitives.ReadUInt16BigEndian(datagram[2..]);

        // RFC 8489 §5: the length excludes the header and is a multiple of 4; over UDP it fills the datagram.
        return (length & 3) != 0 || HeaderLength + length != datagram.Length ? StunParseError.BadLength : StunParseError.None;
    }

    private static bool IsWellFormed(ushort type, ReadOnlySpan<byte> value) => type switch
    {
        StunAttributeType.MappedAddress or StunAttributeType.XorMappedAddress =>
            (value.Length == 8 && value[1] == 1) || (value.Length == 20 && value[1] == 2),
        StunAttributeType.Priority => value.Length == 4,
        StunAttributeType.UseCandidate => value.Length == 0,
        StunAttributeType.IceControlled or StunAttributeType.IceControlling => value.Length == 8,
        StunAttributeType.ErrorCode => value.Length >= 4 && value[2] >= 3 && value[2] <= 6 && value[3] < 100
            && value.Length - 4 <= MaxReasonBytes && IsUtf8(value[4..]),
        StunAttributeType.UnknownAttributes => (value.Length & 1) == 0,
        StunAttributeType.Username or StunAttributeType.Realm or StunAttributeType.Nonce or StunAttributeType.Software =>
            IsUtf8(value),
        _ => true,
    };

    private static bool IsUtf8(ReadOnlySpan<byte> value) => System.Text.Unicode.Utf8.IsValid(value);
}
