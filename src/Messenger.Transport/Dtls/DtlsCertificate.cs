using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Messenger.Transport.Dtls;

/// <summary>
/// A peer's DTLS identity: a self-signed ECDSA P-256 certificate and its key (RFC 8827 §6.5). Export it and
/// import it again to keep the same fingerprint across restarts. The key lives in the platform's crypto (OpenSSL),
/// which signs the handshake (<see cref="PlatformEcdsaSigner"/>).
/// </summary>
public sealed class DtlsCertificate
{
    private const string P256Oid = "1.2.840.10045.3.1.7";
    private readonly byte[] _certificateDer;

    private DtlsCertificate(ECDsa key, byte[] certificateDer)
    {
        Key = key;
        _certificateDer = certificateDer;
        Fingerprint = DtlsFingerprint.Sha256(certificateDer);
    }

    /// <summary>The SHA-256 fingerprint for our SDP's a=fingerprint.</summary>
    public DtlsFingerprint Fingerprint { get; }

    public ReadOnlySpan<byte> CertificateDer => _certificateDer;

    internal ECDsa Key { get; }

    /// <summary>Creates a new key pair on the named curve P-256 and a self-signed certificate for it.</summary>
    /// <param name="validity">How long the certificate is valid; browsers default to 30 days, a kept identity needs longer.</param>
    /// <param name="time">The clock for the validity period.</param>
    public static DtlsCertificate Generate(TimeSpan? validity = null, TimeProvider? time = null)
    {
        // Named curve (not explicit parameters): browsers accept only named curves (RFC 8422 §5.1.1).
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var now = (time ?? TimeProvider.System).GetUtcNow();
        var request = new CertificateRequest("CN=WebRTC", key, HashAlgorithmName.SHA256);

        // A positive 63-bit serial, as before (RFC 5280 §4.1.2.2: positive, at most 20 octets).
        var serial = RandomNumberGenerator.GetBytes(8);
        serial[0] &= 0x7F;
        serial[0] |= 0x01;
        using var signed = request.Create(request.SubjectName, X509SignatureGenerator.CreateForECDsa(key), now.AddDays(-1), now.Add(validity ?? TimeSpan.FromDays(365)), serial);
        return new DtlsCertificate(key, signed.RawData);
    }

    /// <summary>The private key as unencrypted PKCS#8 DER; store it where only this user can read it.</summary>
    public byte[] ExportPrivateKeyPkcs8() => Key.ExportPkcs8PrivateKey();

    public byte[] ExportCertificateDer() => (byte[])_certificateDer.Clone();

    /// <summary>Both parts as PEM ("PRIVATE KEY" then "CERTIFICATE"), one text to persist.</summary>
    public string ExportPem() =>
        new string(PemEncoding.Write("PRIVATE KEY", ExportPrivateKeyPkcs8())) + "\n"
        + new string(PemEncoding.Write("CERTIFICATE", _certificateDer)) + "\n";

    /// <summary>Restores an identity from PKCS#8 and DER; the key must belong to the certificate.</summary>
    /// <exception cref="FormatException">The bytes are not a P-256 key and a matching certificate.</exception>
    public static DtlsCertificate Import(ReadOnlySpan<byte> privateKeyPkcs8, ReadOnlySpan<byte> certificateDer)
    {
        var key = ECDsa.Create();
        try
        {
            int read;
            try
            {
                key.ImportPkcs8PrivateKey(privateKeyPkcs8, out read);
            }
            catch (CryptographicException e)
            {
                throw new FormatException("Not a PKCS#8 ECDSA private key.", e);
            }

            if (read != privateKeyPkcs8.Length)
            {
                throw new FormatException("Bytes follow the PKCS#8 private key.");
            }

            var mine = key.ExportParameters(includePrivateParameters: false);
            if (mine.Curve.Oid?.Value != P256Oid)
            {
                throw new FormatException("The key must be on the curve P-256.");
            }

            ECParameters theirs;
            try
            {
                using var certificate = X509CertificateLoader.LoadCertificate(certificateDer);
                using var publicKey = certificate.GetECDsaPublicKey() ?? throw new FormatException("The certificate's key is not ECDSA.");
                theirs = publicKey.ExportParameters(includePrivateParameters: false);
            }
            catch (CryptographicException e)
            {
                throw new FormatException("Not a DER X.509 certificate.", e);
            }

            // The certificate's public point must be the imported key's.
            if (theirs.Curve.Oid?.Value != P256Oid || !theirs.Q.X.AsSpan().SequenceEqual(mine.Q.X) || !theirs.Q.Y.AsSpan().SequenceEqual(mine.Q.Y))
            {
                throw new FormatException("The private key does not belong to the certificate.");
            }

            return new DtlsCertificate(key, certificateDer.ToArray());
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>Restores an identity from <see cref="ExportPem"/>'s text.</summary>
    public static DtlsCertificate ImportPem(string pem)
    {
        ArgumentNullException.ThrowIfNull(pem);
        byte[]? key = null;
        byte[]? certificate = null;
        var rest = pem.AsSpan();
        while (PemEncoding.TryFind(rest, out var fields))
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
