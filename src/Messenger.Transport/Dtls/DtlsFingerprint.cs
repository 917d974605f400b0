using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Messenger.Transport.Dtls;

/// <summary>
/// A certificate fingerprint as SDP's a=fingerprint carries it (RFC 8122 §5): a hash name and the digest of the
/// DER certificate, printed "sha-256 AB:CD:…". Comparing it with the peer's certificate is the only
/// authentication a WebRTC DTLS handshake has (RFC 8827 §6.5).
/// </summary>
public sealed class DtlsFingerprint : IEquatable<DtlsFingerprint>
{
    private readonly byte[] _digest;

    private DtlsFingerprint(string algorithm, byte[] digest)
    {
        Algorithm = algorithm;
        _digest = digest;
    }

    /// <summary>The hash function's name as SDP spells it, lower case ("sha-256").</summary>
    public string Algorithm { get; }

    public ReadOnlySpan<byte> Digest => _digest;

    /// <summary>The SHA-256 fingerprint of a DER certificate, the one browsers put in SDP.</summary>
    public static DtlsFingerprint Sha256(ReadOnlySpan<byte> certificateDer) => new("sha-256", SHA256.HashData(certificateDer));

    /// <summary>Parses an a=fingerprint value: "sha-256 AB:CD:…" (hash names are case-insensitive, RFC 8122 §5).</summary>
    /// <exception cref="FormatException">Not a fingerprint of a supported hash.</exception>
    public static DtlsFingerprint Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var parts = value.Trim().Split(' ', 2, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 2)
        {
            throw new FormatException($"'{value}' is not '<hash> <hex:hex:…>'.");
        }

        var algorithm = parts[0].ToLowerInvariant();
        var expectedLength = algorithm switch
        {
            "sha-256" => 32,
            "sha-384" => 48,
            "sha-512" => 64,
            _ => throw new FormatException($"Unsupported fingerprint hash '{parts[0]}'; expected sha-256, sha-384 or sha-512."),
        };
        var octets = parts[1].Trim().Split(':');
        if (octets.Length != expectedLength)
        {
            throw new FormatException($"A {algorithm} fingerprint has {expectedLength} octets, not {octets.Length}.");
        }

        var digest = new byte[expectedLength];
        for (var i = 0; i < octets.Length; i++)
        {
            if (octets[i].Length != 2 || !byte.TryParse(octets[i], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out digest[i]))
            {
                throw new FormatException($"'{octets[i]}' is not a hex octet.");
            }
        }

        return new DtlsFingerprint(algorithm, digest);
    }

    /// <summary>True when <paramref name="certificateDer"/> hashes to this fingerprint (constant-time compare).</summary>
    public bool Matches(ReadOnlySpan<byte> certificateDer)
    {
        var actual = Algorithm switch
        {
            "sha-256" => SHA256.HashData(certificateDer),
            "sha-384" => SHA384.HashData(certificateDer),
            _ => SHA512.HashData(certificateDer),
        };
        return CryptographicOperations.FixedTimeEquals(actual, _digest);
    }

    /// <summary>"sha-256 AB:CD:…", the a=fingerprint value (RFC 8122 §5: upper-case hex).</summary>
    public override string ToString()
    {
        var text = new StringBuilder(Algorithm.Length + 1 + _digest.Length * 3);
        text.Append(Algorithm).Append(' ');
        for (var i = 0; i < _digest.Length; i++)
        {
            if (i > 0)
            {
                text.Append(':');
            }

            text.Append(_digest[i].ToString("X2", CultureInfo.InvariantCulture));
        }

        return text.ToString();
    }

    public bool Equals(DtlsFingerprint? other) =>
        other is not null && Algorithm == other.Algorithm && _digest.AsSpan().SequenceEqual(other._digest);

    public override bool Equals(object? obj) => Equals(obj as DtlsFingerprint);

    public override int GetHashCode() => HashCode.Combine(Algorithm, BitConverter.ToInt32(_digest, 0));
}
