using System.Security.Cryptography;

namespace Messenger.Plugins.Storage.SqlCipher;

/// <summary>The secret that opens a store: a passphrase (stretched with Argon2id) or a raw 32-byte key.</summary>
public sealed class StoreKey
{
    /// <summary>The size of a raw key and of every derived database key, in bytes.</summary>
    public const int RawKeySize = 32;

    private readonly byte[]? rawKey;

    private StoreKey(string? passphrase, byte[]? rawKey, Argon2Parameters parameters)
    {
        Passphrase = passphrase;
        this.rawKey = rawKey;
        Parameters = parameters;
    }

    /// <summary>The Argon2id cost used when this passphrase creates a store's key header (an existing header keeps its own).</summary>
    public Argon2Parameters Parameters { get; }

    internal string? Passphrase { get; }

    internal bool IsPassphrase => Passphrase is not null;

    /// <summary>A key from a passphrase; the salt and cost are kept in the store's <c>messenger.kdf</c> header.</summary>
    /// <param name="passphrase">The passphrase; not empty.</param>
    /// <param name="parameters">The Argon2id cost for a new store, or null for <see cref="Argon2Parameters.Default"/>.</param>
    /// <returns>The key.</returns>
    public static StoreKey FromPassphrase(string passphrase, Argon2Parameters? parameters = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(passphrase);
        return new StoreKey(passphrase, null, parameters ?? Argon2Parameters.Default);
    }

    /// <summary>A raw 32-byte key, used as the SQLCipher key as it is.</summary>
    /// <param name="key">Exactly 32 bytes, ideally from a random generator.</param>
    /// <returns>The key.</returns>
    public static StoreKey FromRawKey(ReadOnlySpan<byte> key)
    {
        if (key.Length != RawKeySize)
        {
            throw new ArgumentException($"A raw store key is {RawKeySize} bytes; got {key.Length}.", nameof(key));
        }

        return new StoreKey(null, key.ToArray(), Argon2Parameters.Default);
    }

    /// <summary>A new random raw key.</summary>
    /// <returns>The key.</returns>
    public static StoreKey CreateRandom() => FromRawKey(RandomNumberGenerator.GetBytes(RawKeySize));

    internal byte[] RawKeyCopy() => rawKey is null ? throw new InvalidOperationException("This key is a passphrase.") : (byte[])rawKey.Clone();
}

/// <summary>The Argon2id cost for stretching a passphrase.</summary>
/// <param name="MemoryKiB">Memory in KiB (at least 8 × <paramref name="Parallelism"/>).</param>
/// <param name="Iterations">Passes over the memory (at least 1).</param>
/// <param name="Parallelism">Lanes (at least 1).</param>
public sealed record Argon2Parameters(int MemoryKiB, int Iterations, int Parallelism)
{
    /// <summary>64 MiB, 3 passes, 2 lanes: about a second on a small machine, the OWASP-recommended range.</summary>
    public static Argon2Parameters Default { get; } = new(64 * 1024, 3, 2);
}
