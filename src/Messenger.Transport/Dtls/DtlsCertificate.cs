using Org.BouncyCastle.Asn1.Sec;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Operators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.Pkcs;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.X509;

namespace Messenger.Transport.Dtls;

/// <summary>
/// A peer's DTLS identity: a self-signed ECDSA P-256 certificate and its key (RFC 8827 §6.5). Export it and
/// import it again to keep the same fingerprint across restarts.
/// </summary>
public sealed class DtlsCertificate
{
    private readonly byte[] _certificateDer;

    private DtlsCertificate(ECPrivateKeyParameters privateKey, byte[] certificateDer)
    {
        PrivateKey = privateKey;
        _certificateDer = certificateDer;
        Fingerprint = DtlsFingerprint.Sha256(certificateDer);
    }

    /// <summary>The SHA-256 fingerprint for our SDP's a=fingerprint.</summary>
    public DtlsFingerprint Fingerprint { get; }

    public ReadOnlySpan<byte> CertificateDer => _certificateDer;

    internal ECPrivateKeyParameters PrivateKey { get; }

    /// <summary>Creates a new key pair on the named curve P-256 and a self-signed certificate for it.</summary>
    /// <param name="validity">How long the certificate is valid; browsers default to 30 days, a kept identity needs longer.</param>
    /// <param name="time">The clock for the validity period.</param>
    public static DtlsCertificate Generate(TimeSpan? validity = null, TimeProvider? time = null)
    {
        var random = new SecureRandom();
        var generator = new ECKeyPairGenerator();

        // Named curve (not explicit parameters): browsers accept only named curves (RFC 8422 §5.1.1).
        generator.Init(new ECKeyGenerationParameters(SecObjectIdentifiers.SecP256r1, random));
        var pair = generator.GenerateKeyPair();
        var now = (time ?? TimeProvider.System).GetUtcNow().UtcDateTime;
        var name = new X509Name("CN=WebRTC");
        var certificate = new X509V3CertificateGenerator();
        certificate.SetSerialNumber(new BigInteger(63, random).Add(BigInteger.One));
        certificate.SetIssuerDN(name);
        certificate.SetSubjectDN(name);
        certificate.SetNotBefore(now.AddDays(-1));
        certificate.SetNotAfter(now.Add(validity ?? TimeSpan.FromDays(365)));
        certificate.SetPublicKey(pair.Public);
        var signed = certificate.Generate(new Asn1SignatureFactory("SHA256WITHECDSA", pair.Private, random));
        return new DtlsCertificate((ECPrivateKeyParameters)pair.Private, signed.GetEncoded());
    }

    /// <summary>The private key as unencrypted PKCS#8 DER; store it where only this user can read it.</summary>
    public byte[] ExportPrivateKeyPkcs8() => PrivateKeyInfoFactory.CreatePrivateKeyInfo(PrivateKey).GetEncoded();

    public byte[] ExportCertificateDer() => (byte[])_certificateDer.Clone();

    /// <summary>Both parts as PEM ("PRIVATE KEY" then "CERTIFICATE"), one text to persist.</summary>
    public string ExportPem() =>
        new string(System.Security.Cryptography.PemEncoding.Write("PRIVATE KEY", ExportPrivateKeyPkcs8())) + "\n"
        + new string(System.Security.Cryptography.PemEncoding.Write("CERTIFICATE", _certificateDer)) + "\n";

    /// <summary>Restores an identity from PKCS#8 and DER; the key must belong to the certificate.</summary>
    /// <exception cref="FormatException">The bytes are not a P-256 key and a matching certificate.</exception>
    public static DtlsCertificate Import(ReadOnlySpan<byte> privateKeyPkcs8, ReadOnlySpan<byte> certificateDer)
    {
        AsymmetricKeyParameter key;
        X509Certificate certificate;
        try
        {
            key = PrivateKeyFactory.CreateKey(privateKeyPkcs8.ToArray());
            certificate = new X509Certificate(certificateDer.ToArray());
        }
        catch (Exception e) when (e is ArgumentException or InvalidCastException or IOException or Org.BouncyCastle.Security.Certificates.CertificateException or InvalidOperationException)
        {
            throw new FormatException("Not a PKCS#8 private key and a DER certificate.", e);
        }

        if (key is not ECPrivateKeyParameters ecKey || certificate.GetPublicKey() is not ECPublicKeyParameters publicKey)
        {
            throw new FormatException("The key and certificate must both be ECDSA.");
        }

        // The certificate's public point must be d·G for the imported private scalar d.
        var derived = ecKey.Parameters.G.Multiply(ecKey.D).Normalize();
        if (!derived.Equals(publicKey.Q.Normalize()))
        {
            throw new FormatException("The private key does not belong to the certificate.");
        }

        return new DtlsCertificate(ecKey, certificateDer.ToArray());
    }

    /// <summary>Restores an identity from <see cref="ExportPem"/>'s text.</summary>
    public static DtlsCertificate ImportPem(string pem)
    {
        ArgumentNullException.ThrowIfNull(pem);
        byte[]? key = null;
        byte[]? certificate = null;
        var rest = pem.AsSpan();
        while (System.Security.Cryptography.PemEncoding.TryFind(rest, out var fields))
        {
            var label = rest[fields.Label];
            var data = Convert.FromBase64String(rest[fields.Base64Data].ToString());
            if (label.SequenceEqual("PRIVATE KEY"))
            {
                key = data;
            }
            else if (label.SequenceEqual("CERTIFICATE"))
            {
                certificate = data;
            }

            rest = rest[fields.Location.End.GetOffset(rest.Length)..];
        }

        if (key is null || certificate is null)
        {
            throw new FormatException("The PEM text needs a PRIVATE KEY and a CERTIFICATE block.");
        }

        return Import(key, certificate);
    }
}
