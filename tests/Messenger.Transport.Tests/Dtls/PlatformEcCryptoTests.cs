using System.Security.Cryptography;
using Messenger.Transport.Dtls;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace Messenger.Transport.Tests.Dtls;

/// <summary>
/// The handshake's curve work done by the platform (ECDHE on P-256/P-384, ECDSA): the group each client offer ends
/// with, a shared secret both ends agree on, signatures BouncyCastle accepts, and hostile shares refused.
/// </summary>
public class PlatformEcCryptoTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    public static TheoryData<string, int[]?, int> Offers() => new()
    {
        { "ours (the browsers' order)", null, NamedGroup.x25519 },
        { "P-256 first", [NamedGroup.secp256r1, NamedGroup.x25519], NamedGroup.secp256r1 },
        { "x25519 only", [NamedGroup.x25519], NamedGroup.x25519 },
        { "P-384 only", [NamedGroup.secp384r1], NamedGroup.secp384r1 },
    };

    [Theory]
    [MemberData(nameof(Offers))]
    public async Task Handshake_NegotiatesTheExpectedGroup_AndBothEndsDeriveTheSameKeys(string name, int[]? clientGroups, int expected)
    {
        _ = name;
        var (clientPath, serverPath) = QueuedDatagramTransport.CreatePair();
        using (clientPath)
        using (serverPath)
        {
            var serverTask = DtlsHandshake.RunAsync(serverPath, DtlsLoopback.Options(DtlsRole.Server));
            var clientTask = DtlsHandshake.RunAsync(clientPath, DtlsLoopback.Options(DtlsRole.Client) with { SupportedGroups = clientGroups });
            using var server = await serverTask.WaitAsync(Wait);
            using var client = await clientTask.WaitAsync(Wait);

            Assert.Equal(expected, client.NamedGroup);
            Assert.Equal(expected, server.NamedGroup);

            // Keys from one premaster secret: a record sealed by the client opens at the server.
            using var sealer = new DtlsRecordLayer(client.Keys);
            using var opener = new DtlsRecordLayer(server.Keys);
            var record = new byte[sealer.Overhead + 5];
            "hello"u8.CopyTo(record.AsSpan(sealer.PlaintextOffset));
            var length = sealer.Seal(record, 5);
            var offset = 0;
            Assert.Equal(DtlsRecordKind.ApplicationData, opener.Open(record.AsSpan(0, length), ref offset, out var plaintext));
            Assert.Equal("hello"u8.ToArray(), plaintext.ToArray());
        }
    }

    [Theory]
    [InlineData(NamedGroup.secp256r1)]
    [InlineData(NamedGroup.secp384r1)]
    public void Agreement_BothSidesComputeTheSameSecret(int group)
    {
        var crypto = new BcTlsCrypto(new SecureRandom());
        var curve = PlatformEcCrypto.CurveOf(group)!.Value;
        var a = new PlatformEcdhAgreement(crypto, group, curve);
        var b = new PlatformEcdhAgreement(crypto, group, curve);
        var shareA = a.GenerateEphemeral();
        var shareB = b.GenerateEphemeral();
        Assert.Equal(1 + (2 * PlatformEcCrypto.CoordinateSize(group)), shareA.Length);
        Assert.Equal(0x04, shareA[0]);
        a.ReceivePeerValue(shareB);
        b.ReceivePeerValue(shareA);
        Assert.Equal(a.CalculateSecret().Extract(), b.CalculateSecret().Extract());
    }

    [Fact]
    public void Agreement_RefusesSharesThatAreNoPointOnTheCurve()
    {
        var crypto = new BcTlsCrypto(new SecureRandom());
        var agreement = new PlatformEcdhAgreement(crypto, NamedGroup.secp256r1, ECCurve.NamedCurves.nistP256);
        var valid = new PlatformEcdhAgreement(crypto, NamedGroup.secp256r1, ECCurve.NamedCurves.nistP256).GenerateEphemeral();
        agreement.GenerateEphemeral();

        var offCurve = (byte[])valid.Clone();
        offCurve[^1] ^= 0x01; // y no longer matches x
        var compressed = new byte[33];
        compressed[0] = 0x02;
        valid.AsSpan(1, 32).CopyTo(compressed.AsSpan(1));
        var zeros = new byte[65];
        zeros[0] = 0x04;

        foreach (var share in new[] { offCurve, compressed, zeros, valid[..64], [.. valid, 0] })
        {
            var alert = Assert.Throws<TlsFatalAlert>(() => agreement.ReceivePeerValue(share));
            Assert.Equal(AlertDescription.illegal_parameter, alert.AlertDescription);
        }
    }

    [Fact]
    public void Signatures_OfOurKey_VerifyWithBouncyCastle_AndWithThePlatformVerifier()
    {
        var certificate = DtlsCertificate.Generate();
        var crypto = new BcTlsCrypto(new SecureRandom());
        var hash = SHA256.HashData("the handshake so far"u8);
        var algorithm = new SignatureAndHashAlgorithm(Org.BouncyCastle.Tls.HashAlgorithm.sha256, SignatureAlgorithm.ecdsa);
        var signature = new PlatformEcdsaSigner(certificate.Key).GenerateRawSignature(algorithm, hash);
        var signed = new DigitallySigned(algorithm, signature);

        var bouncyCastle = new BcTlsCertificate(crypto, certificate.ExportCertificateDer()).CreateVerifier(SignatureAlgorithm.ecdsa);
        Assert.True(bouncyCastle.VerifyRawSignature(signed, hash));
        Assert.True(new PlatformVerifiedCertificate(crypto, certificate.ExportCertificateDer()).CreateVerifier(SignatureAlgorithm.ecdsa).VerifyRawSignature(signed, hash));

        var other = (byte[])hash.Clone();
        other[0] ^= 0x80;
        Assert.False(new PlatformVerifiedCertificate(crypto, certificate.ExportCertificateDer()).CreateVerifier(SignatureAlgorithm.ecdsa).VerifyRawSignature(signed, other));
        var stranger = DtlsCertificate.Generate();
        Assert.False(new PlatformVerifiedCertificate(crypto, stranger.ExportCertificateDer()).CreateVerifier(SignatureAlgorithm.ecdsa).VerifyRawSignature(signed, hash));
    }

    [Fact]
    public void Certificate_OnAnotherCurve_IsRefusedOnImport()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=WebRTC", key, HashAlgorithmName.SHA384);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var pkcs8 = key.ExportPkcs8PrivateKey();
        var der = certificate.RawData;
        var error = Assert.Throws<FormatException>(() => { DtlsCertificate.Import(pkcs8, der); });
        Assert.Contains("P-256", error.Message, StringComparison.Ordinal);
    }
}
