using System.Security.Cryptography;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace Messenger.Transport.Dtls;

/// <summary>
/// BouncyCastle's TLS crypto with the costly parts done by the platform: AES-GCM record protection by
/// <see cref="AesGcm"/> (<see cref="AesGcmRecordCipher"/>), ECDHE on the NIST curves and the peer's ECDSA signatures
/// by OpenSSL (<see cref="PlatformEcCrypto"/>). The handshake state machine, the PRF and X25519 stay BouncyCastle's.
/// One per connection: disposing it releases the keys of the ciphers it made.
/// </summary>
internal sealed class WebRtcTlsCrypto(SecureRandom random, bool platformAesGcm = true) : BcTlsCrypto(random), IDisposable
{
    private readonly List<AesGcmRecordCipher> _ciphers = [];

    public override TlsCertificate CreateCertificate(short type, byte[] encoding) =>
        type == CertificateType.X509 ? new PlatformVerifiedCertificate(this, encoding) : base.CreateCertificate(type, encoding);

    /// <summary>The ECDHE group of the handshake (a NamedGroup number; TLS 1.2 leaves BouncyCastle's NegotiatedGroup unset), -1 before.</summary>
    internal int EcdheGroup { get; private set; } = -1;

    public override TlsECDomain CreateECDomain(TlsECConfig ecConfig)
    {
        ArgumentNullException.ThrowIfNull(ecConfig);
        EcdheGroup = ecConfig.NamedGroup;
        return PlatformEcCrypto.CurveOf(ecConfig.NamedGroup) is { } curve
            ? new PlatformEcDomain(this, ecConfig.NamedGroup, curve)
            : base.CreateECDomain(ecConfig);
    }

    protected override TlsAeadCipher CreateCipher_Aes_Gcm(TlsCryptoParameters cryptoParams, int cipherKeySize, int macSize)
    {
        if (!platformAesGcm || !AesGcm.IsSupported || macSize != 16)
        {
            return base.CreateCipher_Aes_Gcm(cryptoParams, cipherKeySize, macSize);
        }

        var encrypt = new AesGcmRecordCipher(isEncrypting: true);
        var decrypt = new AesGcmRecordCipher(isEncrypting: false);
        lock (_ciphers)
        {
            _ciphers.Add(encrypt);
            _ciphers.Add(decrypt);
        }

        return new TlsAeadCipher(cryptoParams, encrypt, decrypt, cipherKeySize, macSize, TlsAeadCipher.AEAD_GCM);
    }

    public void Dispose()
    {
        lock (_ciphers)
        {
            foreach (var cipher in _ciphers)
            {
                cipher.Dispose();
            }

            _ciphers.Clear();
        }
    }
}
