using System.Globalization;
using Messenger.Contracts.Storage;
using Messenger.Plugins.Storage.Sqlite;
using Microsoft.Extensions.Configuration;

namespace Messenger.Plugins.Storage.SqlCipher;

/// <summary>
/// Where the store lives and where its key comes from. The secret itself never goes in <c>plugins.json</c>: name an
/// environment variable or a key file instead.
/// </summary>
public sealed class SqlCipherStoreOptions
{
    /// <summary>The passphrase variable used when no key source is configured.</summary>
    public const string DefaultPassphraseEnvironmentVariable = "MESSENGER_STORE_PASSPHRASE";

    /// <summary>The store folder; defaults to <c>Messenger/store</c> under the user's local application data.</summary>
    public string Path { get; set; } = System.IO.Path.Combine(
        Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "Messenger", "store");

    /// <summary>An environment variable holding the passphrase (stretched with Argon2id).</summary>
    public string? PassphraseEnvironmentVariable { get; set; }

    /// <summary>A file holding the raw key: 32 bytes, or 64 hexadecimal characters.</summary>
    public string? KeyFile { get; set; }

    /// <summary>An environment variable holding the raw key as 64 hexadecimal characters.</summary>
    public string? KeyEnvironmentVariable { get; set; }

    /// <summary>The Argon2id cost for a new passphrase store.</summary>
    public Argon2Parameters Argon2 { get; set; } = Argon2Parameters.Default;

    /// <summary>Reads the plugin's <c>settings</c>: path, passphraseEnvironmentVariable, keyFile, keyEnvironmentVariable, argon2MemoryKiB, argon2Iterations, argon2Parallelism.</summary>
    /// <param name="settings">The plugin's settings section.</param>
    public void Bind(IConfiguration settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        Path = settings["path"] is { Length: > 0 } path ? ConfiguredPath.Resolve(path) : Path;
        PassphraseEnvironmentVariable = settings["passphraseEnvironmentVariable"] ?? PassphraseEnvironmentVariable;
        KeyFile = settings["keyFile"] is { Length: > 0 } keyFile ? ConfiguredPath.Resolve(keyFile) : KeyFile;
        KeyEnvironmentVariable = settings["keyEnvironmentVariable"] ?? KeyEnvironmentVariable;
        Argon2 = new Argon2Parameters(
            ReadInt(settings, "argon2MemoryKiB", Argon2.MemoryKiB),
            ReadInt(settings, "argon2Iterations", Argon2.Iterations),
            ReadInt(settings, "argon2Parallelism", Argon2.Parallelism));
    }

    /// <summary>Reads the key from the one configured source.</summary>
    /// <returns>The key.</returns>
    /// <exception cref="StorageKeyException">No source, several sources, or a source that is empty or malformed.</exception>
    public StoreKey ResolveKey()
    {
        var sources = new[] { PassphraseEnvironmentVariable, KeyFile, KeyEnvironmentVariable }.Count(s => !string.IsNullOrEmpty(s));
        if (sources > 1)
        {
            throw new StorageKeyException("Configure one store key source: passphraseEnvironmentVariable, keyFile or keyEnvironmentVariable, not several.");
        }

        if (!string.IsNullOrEmpty(KeyFile))
        {
            if (!File.Exists(KeyFile))
            {
                throw new StorageKeyException($"The store key file '{KeyFile}' does not exist.");
            }

            var bytes = File.ReadAllBytes(KeyFile);
            return bytes.Length == StoreKey.RawKeySize ? StoreKey.FromRawKey(bytes) : StoreKey.FromRawKey(ParseHexKey(System.Text.Encoding.ASCII.GetString(bytes), $"key file '{KeyFile}'"));
        }

        if (!string.IsNullOrEmpty(KeyEnvironmentVariable))
        {
            var hex = Environment.GetEnvironmentVariable(KeyEnvironmentVariable)
                ?? throw new StorageKeyException($"The environment variable {KeyEnvironmentVariable} that should hold the store key is not set.");
            return StoreKey.FromRawKey(ParseHexKey(hex, $"environment variable {KeyEnvironmentVariable}"));
        }

        var variable = string.IsNullOrEmpty(PassphraseEnvironmentVariable) ? DefaultPassphraseEnvironmentVariable : PassphraseEnvironmentVariable;
        var passphrase = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrEmpty(passphrase))
        {
            throw new StorageKeyException($"Set the store passphrase in the environment variable {variable} (or configure keyFile or keyEnvironmentVariable for the storage plugin).");
        }

        return StoreKey.FromPassphrase(passphrase, Argon2);
    }

    private static byte[] ParseHexKey(string text, string source)
    {
        var trimmed = text.Trim();
        if (trimmed.Length != StoreKey.RawKeySize * 2 || !trimmed.All(char.IsAsciiHexDigit))
        {
            throw new StorageKeyException($"The {source} must hold a {StoreKey.RawKeySize}-byte key as {StoreKey.RawKeySize * 2} hexadecimal characters.");
        }

        return Convert.FromHexString(trimmed);
    }

    private static int ReadInt(IConfiguration settings, string name, int fallback) =>
        settings[name] is { Length: > 0 } text
            ? int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value > 0
                ? value
                : throw new StorageException($"The storage setting '{name}' must be a positive whole number; got '{text}'.")
            : fallback;
}
