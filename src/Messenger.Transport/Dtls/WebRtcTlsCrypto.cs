using System.Security.Cryptography;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace Messenger.Transport.Dtls;

/// <summary>
/// BouncyCastle's TLS crypto with AES-GCM record protection done by <see cref="AesGcm"/>
/// (<see cref="AesGcmRecordCipher"/>); the handshake (ECDHE, ECDSA, PRF) stays BouncyCastle's. One per connection:
/// disposing it releases the keys of the ciphers it made.
/// </summary>
internal sealed class WebRtcTlsCrypto(SecureRandom random, bool platformAesGcm = true) : BcTlsCrypto(random), IDisposable
{
    private readonly List<AesGcmRecordCipher> _ciphers = [];

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
