using System.Security.Cryptography;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace Messenger.Transport.Dtls;

/// <summary>
/// The handshake's elliptic-curve work done by the platform (OpenSSL through System.Security.Cryptography) instead of
/// BouncyCastle's managed field arithmetic: ECDHE on the NIST curves (RFC 8422 §5.10), ECDSA signatures of our
/// certificate's key and verification of the peer's. Measured in one process (Release): an ECDSA signature 0.32 →
/// 0.03 ms, a verification with its certificate parse 0.56 → 0.26 ms, and on first use 3.4 → 0.1 and 4.6 → 1.0 ms;
/// a fresh process's whole setup did not change beyond noise (its cost is elsewhere, see TransportWarmUp).
/// </summary>
internal static class PlatformEcCrypto
{
    /// <summary>The curve of a TLS named group the platform does, or null (x25519, x448 stay BouncyCastle's).</summary>
    public static ECCurve? CurveOf(int namedGroup) => namedGroup switch
    {
        NamedGroup.secp256r1 => ECCurve.NamedCurves.nistP256,
        NamedGroup.secp384r1 => ECCurve.NamedCurves.nistP384,
        NamedGroup.secp521r1 => ECCurve.NamedCurves.nistP521,
        _ => null,
    };

    /// <summary>Bytes of one coordinate on the curve of <paramref name="namedGroup"/>.</summary>
    public static int CoordinateSize(int namedGroup) => namedGroup switch
    {
        NamedGroup.secp256r1 => 32,
        NamedGroup.secp384r1 => 48,
        _ => 66,
    };
}

/// <summary>One named group's ECDHE (RFC 8422 §5.4: uncompressed points only, as we advertise).</summary>
internal sealed class PlatformEcDomain(BcTlsCrypto crypto, int namedGroup, ECCurve curve) : TlsECDomain
{
    public TlsAgreement CreateECDH() => new PlatformEcdhAgreement(crypto, namedGroup, curve);
}

internal sealed class PlatformEcdhAgreement(BcTlsCrypto crypto, int namedGroup, ECCurve curve) : TlsAgreement
{
    private ECDiffieHellman? _local;
    private ECDiffieHellman? _peer;

    public byte[] GenerateEphemeral()
    {
        _local = ECDiffieHellman.Create(curve);
        var q = _local.ExportParameters(includePrivateParameters: false).Q;
        var size = PlatformEcCrypto.CoordinateSize(namedGroup);
        var point = new byte[1 + (2 * size)];
        point[0] = 0x04;
        q.X.AsSpan().CopyTo(point.AsSpan(1 + size - q.X!.Length, q.X.Length));
        q.Y.AsSpan().CopyTo(point.AsSpan(1 + (2 * size) - q.Y!.Length, q.Y.Length));
        return point;
    }

    public void ReceivePeerValue(byte[] peerValue)
    {
        ArgumentNullException.ThrowIfNull(peerValue);
        var size = PlatformEcCrypto.CoordinateSize(namedGroup);
        if (peerValue.Length != 1 + (2 * size) || peerValue[0] != 0x04)
        {
            throw new TlsFatalAlert(AlertDescription.illegal_parameter, "The peer's ECDH share is not an uncompressed point on the negotiated curve.");
        }

        try
        {
            // The platform rejects a point that is not on the curve (or is the point at infinity) here.
            _peer = ECDiffieHellman.Create(new ECParameters
            {
                Curve = curve,
                Q = new ECPoint { X = peerValue[1..(1 + size)], Y = peerValue[(1 + size)..] },
            });
        }
        catch (CryptographicException e)
        {
            throw new TlsFatalAlert(AlertDescription.illegal_parameter, "The peer's ECDH share is not a point on the negotiated curve.", e);
        }
    }

    public TlsSecret CalculateSecret()
    {
        if (_local is null || _peer is null)
        {
            throw new TlsFatalAlert(AlertDescription.internal_error, "ECDH needs both shares.");
        }

        // RFC 8422 §5.10: the premaster secret is the x-coordinate of the shared point, leading zeros kept.
        var secret = _local.DeriveRawSecretAgreement(_peer.PublicKey);
        try
        {
            return crypto.CreateSecret(secret);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secret);
            _local.Dispose();
            _peer.Dispose();
        }
    }
}

/// <summary>ECDSA with our certificate's key (RFC 5246 §4.7: the DER signature over the handshake hash).</summary>
internal sealed class PlatformEcdsaSigner(ECDsa key) : TlsSigner
{
    public byte[] GenerateRawSignature(SignatureAndHashAlgorithm algorithm, byte[] hash)
    {
        ArgumentNullException.ThrowIfNull(hash);
        if (algorithm is not null && algorithm.Signature != SignatureAlgorithm.ecdsa)
        {
            throw new TlsFatalAlert(AlertDescription.internal_error, $"Cannot sign with {algorithm}: the key is ECDSA.");
        }

        lock (key)
        {
            // Before TLS 1.2 the "hash" is MD5 ‖ SHA-1 and ECDSA signs the SHA-1 part only (RFC 4492 §5.10).
            var digest = algorithm is null ? hash.AsSpan(16, 20) : hash;
            return key.SignHash(digest, DSASignatureFormat.Rfc3279DerSequence);
        }
    }

    public TlsStreamSigner? GetStreamSigner(SignatureAndHashAlgorithm algorithm) => null;
}

/// <summary>The peer's certificate, with ECDSA signatures checked by the platform and everything else as BouncyCastle does it.</summary>
internal sealed class PlatformVerifiedCertificate(BcTlsCrypto crypto, byte[] encoding) : BcTlsCertificate(crypto, encoding)
{
    public override TlsVerifier CreateVerifier(short signatureAlgorithm)
    {
        if (signatureAlgorithm != SignatureAlgorithm.ecdsa)
        {
            return base.CreateVerifier(signatureAlgorithm);
        }

        ValidateKeyUsage(Org.BouncyCastle.Asn1.X509.KeyUsage.DigitalSignature);
        var key = ECDsa.Create();
        try
        {
            key.ImportSubjectPublicKeyInfo(m_keyInfo.GetEncoded(Org.BouncyCastle.Asn1.Asn1Encodable.Der), out _);
        }
        catch (CryptographicException)
        {
            key.Dispose();
            return base.CreateVerifier(signatureAlgorithm); // a curve the platform lacks: BouncyCastle's managed code
        }

        return new PlatformEcdsaVerifier(key);
    }
}

internal sealed class PlatformEcdsaVerifier(ECDsa key) : TlsVerifier
{
    public TlsStreamVerifier? GetStreamVerifier(DigitallySigned digitallySigned) => null;

    public bool VerifyRawSignature(DigitallySigned digitallySigned, byte[] hash)
    {
        ArgumentNullException.ThrowIfNull(digitallySigned);
        ArgumentNullException.ThrowIfNull(hash);
        var algorithm = digitallySigned.Algorithm;
        if (algorithm is not null && algorithm.Signature != SignatureAlgorithm.ecdsa)
        {
            throw new TlsFatalAlert(AlertDescription.illegal_parameter, $"Invalid algorithm: {algorithm}");
        }

        using (key)
        {
            var digest = algorithm is null ? hash.AsSpan(16, 20) : hash;
            return key.VerifyHash(digest, digitallySigned.Signature, DSASignatureFormat.Rfc3279DerSequence);
        }
    }
}
