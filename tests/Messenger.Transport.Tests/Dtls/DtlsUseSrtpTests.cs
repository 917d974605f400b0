using Messenger.Transport.Dtls;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace Messenger.Transport.Tests.Dtls;

/// <summary>
/// RFC 5764 use_srtp in a data-only handshake. werift fails the connection after the DTLS handshake ("need
/// srtpProfile") unless an SRTP profile was negotiated, as server (our ClientHello must offer use_srtp) and as
/// client (our ServerHello must echo one of its profiles); browsers always offer it.
/// </summary>
public class DtlsUseSrtpTests
{
    [Fact]
    public async Task Handshake_OurClientAndServer_AgreeOnAeadAes128Gcm()
    {
        var (a, b) = QueuedDatagramTransport.CreatePair();

        var (client, server) = await DtlsLoopback.ConnectAsync(a, b);
        using var _ = client;
        using var __ = server;

        Assert.Equal(SrtpProtectionProfile.SRTP_AEAD_AES_128_GCM, client.SrtpProfile);
        Assert.Equal(SrtpProtectionProfile.SRTP_AEAD_AES_128_GCM, server.SrtpProfile);
    }

    [Theory]
    [InlineData(new[] { SrtpProtectionProfile.SRTP_AEAD_AES_128_GCM, SrtpProtectionProfile.SRTP_AES128_CM_HMAC_SHA1_80 }, SrtpProtectionProfile.SRTP_AEAD_AES_128_GCM)] // werift's list
    [InlineData(new[] { SrtpProtectionProfile.SRTP_AES128_CM_HMAC_SHA1_80 }, SrtpProtectionProfile.SRTP_AES128_CM_HMAC_SHA1_80)]
    [InlineData(new[] { SrtpProtectionProfile.SRTP_AEAD_AES_256_GCM }, null)] // nothing in common: no extension, no failure
    [InlineData(null, null)] // a client that does not offer use_srtp (OpenSSL s_client) still connects
    public async Task Handshake_ClientOffersProfiles_OurServerEchoesOneItSupports(int[]? offered, int? expected)
    {
        var (a, b) = QueuedDatagramTransport.CreatePair();
        var serverTask = DtlsConnection.HandshakeAsync(b, DtlsLoopback.Options(DtlsRole.Server));
        var peer = new SrtpOfferingClient(new BcTlsCrypto(new SecureRandom()), DtlsLoopback.ClientCertificate, offered);
        var clientTask = Task.Factory.StartNew(() => new DtlsClientProtocol().Connect(peer, new BouncyCastleDatagramAdapter(a)), TaskCreationOptions.LongRunning);

        using var server = await serverTask.WaitAsync(TimeSpan.FromSeconds(20));
        (await clientTask.WaitAsync(TimeSpan.FromSeconds(20))).Close();

        Assert.Equal(expected, server.SrtpProfile);
        Assert.Equal(expected, peer.EchoedProfile);
    }

    /// <summary>A plain BouncyCastle DTLS client standing in for werift's: offers <c>profiles</c>, records the echo.</summary>
    private sealed class SrtpOfferingClient(BcTlsCrypto crypto, DtlsCertificate certificate, int[]? profiles) : DefaultTlsClient(crypto)
    {
        public int? EchoedProfile { get; private set; }

        private DtlsCertificate Certificate => certificate;

        protected override ProtocolVersion[] GetSupportedVersions() => ProtocolVersion.DTLSv12.Only();

        protected override int[] GetSupportedCipherSuites() => [CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256];

        public override void NotifySecureRenegotiation(bool secureRenegotiation)
        {
        }

        public override IDictionary<int, byte[]> GetClientExtensions()
        {
            var extensions = TlsExtensionsUtilities.EnsureExtensionsInitialised(base.GetClientExtensions());
            if (profiles is not null)
            {
                TlsSrtpUtilities.AddUseSrtpExtension(extensions, new UseSrtpData(profiles, TlsUtilities.EmptyBytes));
            }

            return extensions;
        }

        public override void ProcessServerExtensions(IDictionary<int, byte[]> serverExtensions)
        {
            base.ProcessServerExtensions(serverExtensions);
            var echoed = TlsSrtpUtilities.GetUseSrtpExtension(serverExtensions);
            if (echoed is not null)
            {
                Assert.Single(echoed.ProtectionProfiles);
                EchoedProfile = echoed.ProtectionProfiles[0];
            }
        }

        public override TlsAuthentication GetAuthentication() => new Authentication(this);

        private sealed class Authentication(SrtpOfferingClient client) : TlsAuthentication
        {
            public void NotifyServerCertificate(TlsServerCertificate serverCertificate)
            {
            }

            public TlsCredentials GetClientCredentials(CertificateRequest certificateRequest) =>
                WebRtcDtls.Signer(client.m_context, (BcTlsCrypto)client.Crypto, client.Certificate);
        }
    }
}
