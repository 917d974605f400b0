using System.Security.Cryptography;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto.Impl;

namespace Messenger.Transport.Dtls;

/// <summary>
/// AES-GCM record protection for BouncyCastle's <see cref="TlsAeadCipher"/>, backed by the platform's
/// <see cref="AesGcm"/> (OpenSSL here, AES-NI and PCLMULQDQ): the key is expanded once per connection, not per
/// record as BouncyCastle's own GCM does, and nothing is allocated per record. BouncyCastle still frames the
/// records and builds nonce and additional data (RFC 5288), so the wire format is untouched.
/// </summary>
internal sealed class AesGcmRecordCipher(bool isEncrypting) : TlsAeadCipherImpl, IDisposable
{
    private const int TagSize = 16;

    private readonly byte[] _nonce = new byte[12];
    private AesGcm? _aes;

    public void SetKey(byte[] key, int keyOff, int keyLen) => SetKey(key.AsSpan(keyOff, keyLen));

    public void SetKey(ReadOnlySpan<byte> key)
    {
        _aes?.Dispose();
        _aes = new AesGcm(key, TagSize);
    }

    public void Init(byte[] nonce, int macSize, byte[] additionalData)
    {
        // RFC 5288 §3: a 12-byte nonce and a 16-byte tag; TlsAeadCipher passes the additional data to DoFinal instead.
        if (nonce.Length != _nonce.Length || macSize != TagSize || additionalData is { Length: > 0 })
        {
            throw new TlsFatalAlert(AlertDescription.internal_error, "AES-GCM record protection takes a 12-byte nonce and a 16-byte tag.");
        }

        nonce.CopyTo(_nonce, 0);
    }

    public int GetOutputSize(int inputLength) => isEncrypting ? inputLength + TagSize : Math.Max(0, inputLength - TagSize);

    public int DoFinal(byte[] input, int inputOffset, int inputLength, byte[] output, int outputOffset) =>
        DoFinal([], input, inputOffset, inputLength, output, outputOffset);

    public int DoFinal(byte[] additionalData, byte[] input, int inputOffset, int inputLength, byte[] output, int outputOffset)
    {
        var aes = _aes ?? throw new TlsFatalAlert(AlertDescription.internal_error, "The AES-GCM key was not set.");
        var source = input.AsSpan(inputOffset, inputLength);
        if (isEncrypting)
        {
            // TlsAeadCipher encrypts in place: the ciphertext overwrites the plaintext exactly, then the tag follows it.
            var destination = output.AsSpan(outputOffset, inputLength + TagSize);
            aes.Encrypt(_nonce, source, destination[..inputLength], destination[inputLength..], additionalData);
            return destination.Length;
        }

        if (inputLength < TagSize)
        {
            throw new TlsFatalAlert(AlertDescription.bad_record_mac);
        }

        var plaintextLength = inputLength - TagSize;
        try
        {
            aes.Decrypt(_nonce, source[..plaintextLength], source[plaintextLength..], output.AsSpan(outputOffset, plaintextLength), additionalData);
        }
        catch (AuthenticationTagMismatchException e)
        {
            // RFC 5246 §7.2.2: a record that fails authentication is bad_record_mac (DTLS may drop it; BouncyCastle does).
            throw new TlsFatalAlert(AlertDescription.bad_record_mac, e);
        }

        return plaintextLength;
    }

    public void Reset()
    {
    }

    public void Dispose() => _aes?.Dispose();
}
