using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Messenger.Contracts.Storage;

namespace Messenger.Plugins.Storage.SqlCipher;

/// <summary>
/// The on-disk layout of a large file: fixed-size slots of <c>nonce(12) | ciphertext | tag(16)</c>, one per chunk.
/// The file id and chunk index are bound into each chunk's associated data, so chunks cannot be reordered or moved
/// between files; the durable length lives in the database, so truncation is caught too.
/// </summary>
internal sealed class ChunkCipher : IDisposable
{
    public const int KeySize = 32;
    public const int NonceSize = 12;
    public const int TagSize = 16;

    private readonly AesGcm aes;
    private readonly byte[] fileIdBytes;
    private readonly string fileId;

    public ChunkCipher(string fileId, ReadOnlySpan<byte> fileKey, int chunkSize)
    {
        this.fileId = fileId;
        fileIdBytes = Encoding.ASCII.GetBytes(fileId);
        aes = new AesGcm(fileKey, TagSize);
        ChunkSize = chunkSize;
    }

    public int ChunkSize { get; }

    public int SlotSize => NonceSize + ChunkSize + TagSize;

    public static int SlotSizeFor(int chunkSize) => NonceSize + chunkSize + TagSize;

    /// <summary>Encrypts one chunk into <paramref name="slot"/> (at least <c>NonceSize + plaintext + TagSize</c> bytes).</summary>
    public void Encrypt(long index, ReadOnlySpan<byte> plaintext, Span<byte> slot)
    {
        var nonce = slot[..NonceSize];
        // A random nonce, not one derived from the index: a chunk slot is rewritten after a truncate or resume.
        RandomNumberGenerator.Fill(nonce);
        Span<byte> associated = stackalloc byte[AssociatedDataSize];
        var ad = WriteAssociatedData(associated, index, plaintext.Length);
        aes.Encrypt(nonce, plaintext, slot.Slice(NonceSize, plaintext.Length), slot.Slice(NonceSize + plaintext.Length, TagSize), ad);
    }

    /// <summary>Decrypts one chunk of <paramref name="plaintext"/>.Length bytes from its slot.</summary>
    public void Decrypt(long index, ReadOnlySpan<byte> slot, Span<byte> plaintext)
    {
        Span<byte> associated = stackalloc byte[AssociatedDataSize];
        var ad = WriteAssociatedData(associated, index, plaintext.Length);
        try
        {
            aes.Decrypt(slot[..NonceSize], slot.Slice(NonceSize, plaintext.Length), slot.Slice(NonceSize + plaintext.Length, TagSize), plaintext, ad);
        }
        catch (AuthenticationTagMismatchException exception)
        {
            throw new StorageIntegrityException(
                $"Chunk {index} of stored file '{fileId}' failed its integrity check: it was altered, reordered or belongs to another file.",
                exception);
        }
    }

    public void Dispose() => aes.Dispose();

    /// <summary>Wraps a per-file key under the key-encryption key, bound to the file id.</summary>
    public static byte[] WrapKey(ReadOnlySpan<byte> keyEncryptionKey, string fileId, ReadOnlySpan<byte> fileKey)
    {
        var wrapped = new byte[NonceSize + KeySize + TagSize];
        RandomNumberGenerator.Fill(wrapped.AsSpan(0, NonceSize));
        using var aes = new AesGcm(keyEncryptionKey, TagSize);
        aes.Encrypt(wrapped.AsSpan(0, NonceSize), fileKey, wrapped.AsSpan(NonceSize, KeySize), wrapped.AsSpan(NonceSize + KeySize), WrapAssociatedData(fileId));
        return wrapped;
    }

    /// <summary>Unwraps a per-file key; null when <paramref name="keyEncryptionKey"/> is not the one it was wrapped under.</summary>
    public static byte[]? TryUnwrapKey(ReadOnlySpan<byte> keyEncryptionKey, string fileId, ReadOnlySpan<byte> wrapped)
    {
        if (wrapped.Length != NonceSize + KeySize + TagSize)
        {
            return null;
        }

        var fileKey = new byte[KeySize];
        using var aes = new AesGcm(keyEncryptionKey, TagSize);
        try
        {
            aes.Decrypt(wrapped[..NonceSize], wrapped.Slice(NonceSize, KeySize), wrapped[(NonceSize + KeySize)..], fileKey, WrapAssociatedData(fileId));
            return fileKey;
        }
        catch (AuthenticationTagMismatchException)
        {
            // Expected when probing which key wrapped it (an interrupted rekey); the caller decides what it means.
            return null;
        }
    }

    /// <summary>The key that wraps file keys: HKDF of the database key, so it changes with every rekey.</summary>
    public static byte[] DeriveKeyEncryptionKey(ReadOnlySpan<byte> databaseKey) =>
        HKDF.DeriveKey(HashAlgorithmName.SHA256, databaseKey.ToArray(), KeySize, salt: [], info: "messenger/file-key-wrap/v1"u8.ToArray());

    private const int AssociatedDataSize = 64 + 8 + 4 + 1 + FileIdMax;
    private const int FileIdMax = 128;

    private ReadOnlySpan<byte> WriteAssociatedData(Span<byte> buffer, long index, int length)
    {
        // "messenger/chunk/v1" | id length | id | index | plaintext length
        var label = "messenger/chunk/v1"u8;
        label.CopyTo(buffer);
        var at = label.Length;
        buffer[at++] = (byte)fileIdBytes.Length;
        fileIdBytes.CopyTo(buffer[at..]);
        at += fileIdBytes.Length;
        BinaryPrimitives.WriteInt64BigEndian(buffer[at..], index);
        at += 8;
        BinaryPrimitives.WriteInt32BigEndian(buffer[at..], length);
        at += 4;
        return buffer[..at];
    }

    private static byte[] WrapAssociatedData(string fileId) => Encoding.ASCII.GetBytes("messenger/file-key/v1:" + fileId);
}
