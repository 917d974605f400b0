using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace Messenger.Transport.Dtls;

/// <summary>What our TLS peer callbacks found, read after BouncyCastle aborts so the error can say why.</summary>
internal sealed class FingerprintCheck(DtlsFingerprint expected)
{
    public DtlsFingerprint Expected { get; } = expected;

    public bool Failed { get; private set; }

    public DtlsFingerprint? Actual { get; private set; }

    /// <summary>The SHA-256 fingerprint of the certificate that passed the check (whatever algorithm the SDP used).</summary>
    public DtlsFingerprint? Verified { get; private set; }

    /// <summary>RFC 8827 §6.5: the peer's end-entity certificate must hash to the SDP fingerprint.</summary>
    public void Verify(Certificate? certificate)
    {
        if (certificate is null || certificate.IsEmpty)
        {
            Failed = true;
            throw new TlsFatalAlert(AlertDescription.certificate_required, "The peer sent no certificate.");
        }

        var der = certificate.GetCertificateAt(0).GetEncoded();
        if (!Expected.Matches(der))
        {
            Failed = true;
            Actual = DtlsFingerprint.Sha256(der);
            throw new TlsFatalAlert(AlertDescription.bad_certificate, "Certificate fingerprint mismatch.");
        }

        Verified = DtlsFingerprint.Sha256(der);
    }
}

/// <summary>Settings shared by both roles.</summary>
internal static class WebRtcDtls
{
    // ECDHE-ECDSA only (our certificates are P-256); AES-128-GCM first, as browsers pick it.
    public static readonly int[] CipherSuites =
    [
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ];

    // RFC 5764 use_srtp. We carry no media, but browsers always offer it and werift fails the whole connection
    // ("need srtpProfile") unless the handshake negotiated a profile, in either role: offer and accept these two.
    public static readonly int[] SrtpProfiles =
    [
        SrtpProtectionProfile.SRTP_AEAD_AES_128_GCM,
        SrtpProtectionProfile.SRTP_AES128_CM_HMAC_SHA1_80,
    ];

    public static string Name(int cipherSuite) => cipherSuite switch
    {
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 => "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 => "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        CipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 => "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        _ => $"0x{cipherSuite:X4}",
    };

    // RFC 8422 §5.1.1, in the order browsers offer them. The server honours the client's order (BouncyCastle's
    // default): P-256 is the platform's (PlatformEcCrypto), X25519 BouncyCastle's managed code, which is as fast once
    // warm; werift's JavaScript P-256 costs it some 60 ms of setup more than its X25519.
    public static readonly int[] SupportedGroups = [NamedGroup.x25519, NamedGroup.secp256r1, NamedGroup.secp384r1];

    public static TlsCredentialedSigner Signer(TlsContext context, BcTlsCrypto crypto, DtlsCertificate certificate)
    {
        var chain = new Certificate([crypto.CreateCertificate(certificate.CertificateDer.ToArray())]);
        return new DefaultTlsCredentialedSigner(new TlsCryptoParameters(context), new PlatformEcdsaSigner(certificate.Key), chain,
            new SignatureAndHashAlgorithm(HashAlgorithm.sha256, SignatureAlgorithm.ecdsa));
    }
}

internal sealed class WebRtcDtlsClient(BcTlsCrypto crypto, DtlsConnectionOptions options, FingerprintCheck check) : DefaultTlsClient(crypto)
{
    protected override ProtocolVersion[] GetSupportedVersions() => ProtocolVersion.DTLSv12.Only();

    protected override int[] GetSupportedCipherSuites() => options.CipherSuites ?? WebRtcDtls.CipherSuites;

    protected override IList<int> GetSupportedGroups(IList<int> namedGroupRoles) => [.. options.SupportedGroups ?? WebRtcDtls.SupportedGroups];

    public override int GetHandshakeTimeoutMillis() => (int)options.HandshakeTimeout.TotalMilliseconds;

    public override int GetHandshakeResendTimeMillis() => (int)options.InitialRetransmit.TotalMilliseconds;

    // Browsers do not signal secure renegotiation the way BouncyCastle insists on; WebRTC never renegotiates (RFC 8842 §5.5).
    public override void NotifySecureRenegotiation(bool secureRenegotiation)
    {
    }

    public override TlsAuthentication GetAuthentication() => new Authentication(this);

    internal int SelectedCipherSuite => m_context.SecurityParameters.CipherSuite;

    /// <summary>The record keys, taken while BouncyCastle still holds the master secret (it clears it on return).</summary>
    internal DtlsRecordKeys? RecordKeys { get; private set; }

    public override void NotifyHandshakeComplete()
    {
        base.NotifyHandshakeComplete();
        RecordKeys = DtlsHandshake.DeriveRecordKeys(m_context, isClient: true, nextWriteSequence: 0);
    }

    /// <summary>The use_srtp profile the server picked (RFC 5764), or null when it ignored the extension.</summary>
    internal int? SrtpProfile { get; private set; }

    public override IDictionary<int, byte[]> GetClientExtensions()
    {
        var extensions = TlsExtensionsUtilities.EnsureExtensionsInitialised(base.GetClientExtensions());
        TlsSrtpUtilities.AddUseSrtpExtension(extensions, new UseSrtpData(WebRtcDtls.SrtpProfiles, TlsUtilities.EmptyBytes));
        return extensions;
    }

    public override void ProcessServerExtensions(IDictionary<int, byte[]> serverExtensions)
    {
        base.ProcessServerExtensions(serverExtensions);
        var useSrtp = TlsSrtpUtilities.GetUseSrtpExtension(serverExtensions);
        if (useSrtp is null)
        {
            return;
        }

        // RFC 5764 §4.1.1: exactly one profile, one we offered. The MKI is not checked: we never protect SRTP with it.
        if (useSrtp.ProtectionProfiles.Length != 1 || Array.IndexOf(WebRtcDtls.SrtpProfiles, useSrtp.ProtectionProfiles[0]) < 0)
        {
            throw new TlsFatalAlert(AlertDescription.illegal_parameter, "The server selected an SRTP profile we did not offer.");
        }

        SrtpProfile = useSrtp.ProtectionProfiles[0];
    }

    private void Check(Certificate certificate) => check.Verify(certificate);

    // RFC 8827 §6.5: both ends present certificates; we answer the server's request with ours.
    private TlsCredentials Credentials() => WebRtcDtls.Signer(m_context, crypto, options.Certificate);

    private sealed class Authentication(WebRtcDtlsClient client) : TlsAuthentication
    {
        public void NotifyServerCertificate(TlsServerCertificate serverCertificate) => client.Check(serverCertificate.Certificate);

        public TlsCredentials GetClientCredentials(CertificateRequest certificateRequest) => client.Credentials();
    }
}

internal sealed class WebRtcDtlsServer(BcTlsCrypto crypto, DtlsConnectionOptions options, FingerprintCheck check) : DefaultTlsServer(crypto)
{
    protected override ProtocolVersion[] GetSupportedVersions() => ProtocolVersion.DTLSv12.Only();

    protected override int[] GetSupportedCipherSuites() => options.CipherSuites ?? WebRtcDtls.CipherSuites;

    public override int GetHandshakeTimeoutMillis() => (int)options.HandshakeTimeout.TotalMilliseconds;

    public override int GetHandshakeResendTimeMillis() => (int)options.InitialRetransmit.TotalMilliseconds;

    public override void NotifySecureRenegotiation(bool secureRenegotiation)
    {
    }

    // Our order, not the client's: AES-128-GCM is what browsers negotiate and the cheapest here (RFC 5246 §7.4.1.2 lets the server choose).
    protected override bool PreferLocalCipherSuites() => true;

    protected override TlsCredentialedSigner GetECDsaSignerCredentials() => WebRtcDtls.Signer(m_context, crypto, options.Certificate);

    // The fingerprint check is the only authentication, so the server must ask for the client's certificate.
    public override CertificateRequest GetCertificateRequest() =>
        new([ClientCertificateType.ecdsa_sign], TlsUtilities.GetDefaultSupportedSignatureAlgorithms(m_context), null);

    public override void NotifyClientCertificate(Certificate clientCertificate) => check.Verify(clientCertificate);

    internal int SelectedCipherSuite => m_context.SecurityParameters.CipherSuite;

    /// <summary>The record keys, taken while BouncyCastle still holds the master secret (it clears it on return).</summary>
    internal DtlsRecordKeys? RecordKeys { get; private set; }

    public override void NotifyHandshakeComplete()
    {
        base.NotifyHandshakeComplete();
        RecordKeys = DtlsHandshake.DeriveRecordKeys(m_context, isClient: false, nextWriteSequence: 0);
    }

    /// <summary>The use_srtp profile we echoed (RFC 5764), or null when the client did not offer one we support.</summary>
    internal int? SrtpProfile { get; private set; }

    public override IDictionary<int, byte[]> GetServerExtensions()
    {
        var extensions = base.GetServerExtensions();
        var offered = TlsSrtpUtilities.GetUseSrtpExtension(m_clientExtensions);
        if (offered is not null)
        {
            // Our preference order, like the cipher suites.
            foreach (var profile in WebRtcDtls.SrtpProfiles)
            {
                if (Array.IndexOf(offered.ProtectionProfiles, profile) >= 0)
                {
                    SrtpProfile = profile;
                    TlsSrtpUtilities.AddUseSrtpExtension(extensions, new UseSrtpData([profile], TlsUtilities.EmptyBytes));
                    break;
                }
            }
        }

        return extensions;
    }
}
