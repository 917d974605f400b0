using System.Security.Cryptography;
using Messenger.Transport.Dtls;
using Org.BouncyCastle.Crypto.Engines;
using Org.BouncyCastle.Crypto.Modes;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Tls;

namespace Messenger.Transport.Tests.Dtls;

/// <summary>The AesGcm-backed record cipher against BouncyCastle's GCM with the same keys, nonces and additional data.</summary>
public class AesGcmRecordCipherTests
{
    public static TheoryData<int, int> Cases => new()
    {
        { 16, 0 },
        { 16, 1 },
        { 16, 17 },
        { 16, 1200 },
        { 32, 1200 },
        { 16, 16384 },
    };

    private static byte[] BouncyCastleGcm(bool encrypt, byte[] key, byte[] nonce, byte[] aad, byte[] input)
    {
        var gcm = new GcmBlockCipher(new AesEngine());
        gcm.Init(encrypt, new AeadParameters(new KeyParameter(key), 128, nonce, aad));
        var output = new byte[gcm.GetOutputSize(input.Length)];
        var length = gcm.ProcessBytes(input, 0, input.Length, output, 0);
        length += gcm.DoFinal(output, length);
        return output[..length];
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Encrypt_InPlaceLikeTlsAeadCipher_MatchesBouncyCastleGcm(int keySize, int length)
    {
        var random = new Random(keySize * 100_000 + length);
        var key = new byte[keySize];
        var nonce = new byte[12];
        var aad = new byte[13];
        var plaintext = new byte[length];
        random.NextBytes(key);
        random.NextBytes(nonce);
        random.NextBytes(aad);
        random.NextBytes(plaintext);
        using var cipher = new AesGcmRecordCipher(isEncrypting: true);
        cipher.SetKey(key, 0, key.Length);
        cipher.Init(nonce, 16, null!);

        // TlsAeadCipher copies the plaintext behind the header allocation and encrypts it where it lies.
        const int Header = 13 + 8;
        var record = new byte[Header + cipher.GetOutputSize(length)];
        plaintext.CopyTo(record, Header);
        var written = cipher.DoFinal(aad, record, Header, length, record, Header);

        Assert.Equal(length + 16, written);
        Assert.Equal(BouncyCastleGcm(true, key, nonce, aad, plaintext), record[Header..]);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Decrypt_BouncyCastleCiphertextInPlace_RecoversPlaintext(int keySize, int length)
    {
        var key = RandomNumberGenerator.GetBytes(keySize);
        var nonce = RandomNumberGenerator.GetBytes(12);
        var aad = RandomNumberGenerator.GetBytes(13);
        var plaintext = RandomNumberGenerator.GetBytes(length);
        var sealedRecord = BouncyCastleGcm(true, key, nonce, aad, plaintext);
        using var cipher = new AesGcmRecordCipher(isEncrypting: false);
        cipher.SetKey(key.AsSpan());
        cipher.Init(nonce, 16, null!);

        var buffer = new byte[8 + sealedRecord.Length];
        sealedRecord.CopyTo(buffer, 8);
        var written = cipher.DoFinal(aad, buffer, 8, sealedRecord.Length, buffer, 8);

        Assert.Equal(length, cipher.GetOutputSize(sealedRecord.Length));
        Assert.Equal(length, written);
        Assert.Equal(plaintext, buffer.AsSpan(8, length).ToArray());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(100)]
    [InlineData(1215)]
    public void Decrypt_OneBitFlipped_ThrowsBadRecordMac(int flippedByte)
    {
        var key = RandomNumberGenerator.GetBytes(16);
        var nonce = RandomNumberGenerator.GetBytes(12);
        var aad = RandomNumberGenerator.GetBytes(13);
        var sealedRecord = BouncyCastleGcm(true, key, nonce, aad, RandomNumberGenerator.GetBytes(1200));
        sealedRecord[flippedByte] ^= 0x01;
        using var cipher = new AesGcmRecordCipher(isEncrypting: false);
        cipher.SetKey(key.AsSpan());
        cipher.Init(nonce, 16, null!);

        var error = Assert.Throws<TlsFatalAlert>(() => cipher.DoFinal(aad, sealedRecord, 0, sealedRecord.Length, sealedRecord, 0));

        Assert.Equal(AlertDescription.bad_record_mac, error.AlertDescription);
    }

    [Fact]
    public void Decrypt_ShorterThanTag_ThrowsBadRecordMac()
    {
        using var cipher = new AesGcmRecordCipher(isEncrypting: false);
        cipher.SetKey(new byte[16].AsSpan());
        cipher.Init(new byte[12], 16, null!);

        var error = Assert.Throws<TlsFatalAlert>(() => cipher.DoFinal([], new byte[15], 0, 15, new byte[15], 0));

        Assert.Equal(AlertDescription.bad_record_mac, error.AlertDescription);
    }

    [Fact]
    public void Init_NonceOtherThan12Bytes_IsRefused()
    {
        using var cipher = new AesGcmRecordCipher(isEncrypting: true);
        cipher.SetKey(new byte[16].AsSpan());

        Assert.Throws<TlsFatalAlert>(() => cipher.Init(new byte[8], 16, null!));
    }
}
