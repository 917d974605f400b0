using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Konscious.Security.Cryptography;
using Messenger.Contracts.Storage;

namespace Messenger.Plugins.Storage.SqlCipher;

/// <summary>
/// The small <c>messenger.kdf</c> file beside the database: Argon2id salt and cost, so a passphrase derives the
/// same database key on every open. It holds no secret.
/// </summary>
internal sealed record KdfHeader(byte[] Salt, Argon2Parameters Parameters)
{
    public const string FileName = "messenger.kdf";
    private const int SaltSize = 16;
    private static readonly byte[] Magic = "MSGRKDF1"u8.ToArray();
    private const int Size = 8 + 12 + SaltSize;

    public static KdfHeader Create(Argon2Parameters parameters) => new(RandomNumberGenerator.GetBytes(SaltSize), parameters);

    public static KdfHeader? Read(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
        {
            return null;
        }

        var bytes = File.ReadAllBytes(path);
        if (bytes.Length != Size || !bytes.AsSpan(0, 8).SequenceEqual(Magic))
        {
            throw new StorageKeyException($"Wrong passphrase or not a Messenger store. '{path}' is not a Messenger key header.");
        }

        var parameters = new Argon2Parameters(
            BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8)),
            BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(12)),
            BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(16)));
        return new KdfHeader(bytes.AsSpan(20, SaltSize).ToArray(), parameters);
    }

    /// <summary>Writes the header atomically (temporary file, flush, rename), so a crash leaves the old one or the new one.</summary>
    public void Write(string directory)
    {
        var bytes = new byte[Size];
        Magic.CopyTo(bytes, 0);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), Parameters.MemoryKiB);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(12), Parameters.Iterations);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(16), Parameters.Parallelism);
        Salt.CopyTo(bytes, 20);
        var path = Path.Combine(directory, FileName);
        var temporary = path + ".tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }

    public byte[] DeriveKey(string passphrase)
    {
        using var argon2 = new Argon2id(Encoding.UTF8.GetBytes(passphrase))
        {
            Salt = Salt,
            MemorySize = Parameters.MemoryKiB,
            Iterations = Parameters.Iterations,
            DegreeOfParallelism = Parameters.Parallelism,
        };
        return argon2.GetBytes(StoreKey.RawKeySize);
    }
}
