using System.Security.Cryptography;
using Messenger.Transport.Dtls;

namespace Messenger.Transport.Tests.Dtls;

public class DtlsFingerprintAndCertificateTests
{
    [Fact]
    public void Fingerprint_OfCertificate_IsSdpFormattedSha256()
    {
        var certificate = DtlsLoopback.ClientCertificate;

        var text = certificate.Fingerprint.ToString();

        Assert.Matches("^sha-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}$", text);
        Assert.Equal(SHA256.HashData(certificate.CertificateDer), certificate.Fingerprint.Digest.ToArray());
        Assert.Equal(certificate.Fingerprint, DtlsFingerprint.Parse(text));
        Assert.Equal(certificate.Fingerprint, DtlsFingerprint.Parse("SHA-256 " + text[8..].ToLowerInvariant()));
        Assert.True(DtlsFingerprint.Parse(text).Matches(certificate.CertificateDer));
        Assert.False(DtlsFingerprint.Parse(text).Matches(DtlsLoopback.ServerCertificate.CertificateDer));
    }

    [Theory]
    [InlineData("")]
    [InlineData("sha-256")]
    [InlineData("md5 AB:CD")]
    [InlineData("sha-256 AB:CD")]
    [InlineData("sha-256 ZZ:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00")]
    [InlineData("sha-256 000:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:0")]
    public void Parse_Malformed_ThrowsFormatException(string value)
    {
        Assert.Throws<FormatException>(() => DtlsFingerprint.Parse(value));
    }

    [Fact]
    public void ExportImport_Pkcs8AndDer_KeepsFingerprintAndKey()
    {
        var original = DtlsCertificate.Generate();

        var restored = DtlsCertificate.Import(original.ExportPrivateKeyPkcs8(), original.ExportCertificateDer());
        var fromPem = DtlsCertificate.ImportPem(original.ExportPem());

        Assert.Equal(original.Fingerprint, restored.Fingerprint);
        Assert.Equal(original.Fingerprint, fromPem.Fingerprint);
        Assert.Equal(original.ExportPrivateKeyPkcs8(), fromPem.ExportPrivateKeyPkcs8());
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", original.ExportPem(), StringComparison.Ordinal);
    }

    [Fact]
    public void ExportedPkcs8_IsReadableByDotNetAsP256()
    {
        var certificate = DtlsCertificate.Generate();

        using var key = ECDsa.Create();
        key.ImportPkcs8PrivateKey(certificate.ExportPrivateKeyPkcs8(), out _);
        using var x509 = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificate(certificate.ExportCertificateDer());

        Assert.Equal("1.2.840.10045.3.1.7", key.ExportParameters(false).Curve.Oid.Value);
        Assert.Equal("CN=WebRTC", x509.Subject);
        Assert.Equal("1.2.840.10045.4.3.2", x509.SignatureAlgorithm.Value);
    }

    [Fact]
    public void Import_KeyOfAnotherCertificate_ThrowsFormatException()
    {
        var a = DtlsCertificate.Generate();
        var b = DtlsCertificate.Generate();

        Assert.Throws<FormatException>(() => DtlsCertificate.Import(a.ExportPrivateKeyPkcs8(), b.ExportCertificateDer()));
        Assert.Throws<FormatException>(() => DtlsCertificate.Import([1, 2, 3], a.ExportCertificateDer()));
    }
}
