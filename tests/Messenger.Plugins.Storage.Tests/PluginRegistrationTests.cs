using System.Reflection;
using System.Security.Cryptography;
using Messenger.Contracts.Plugins;
using Messenger.Contracts.Storage;
using Messenger.Plugins.Storage.Folder;
using Messenger.Plugins.Storage.SqlCipher;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Messenger.Plugins.Storage.Tests;

/// <summary>Each storage plugin names its entry and, from plugins.json-style settings alone, supplies both contracts.</summary>
public sealed class PluginRegistrationTests : IDisposable
{
    private readonly TempDirectory folder = new();

    public void Dispose() => folder.Dispose();

    [Theory]
    [InlineData(typeof(SqlCipherStoragePlugin))]
    [InlineData(typeof(FolderStoragePlugin))]
    public void Assembly_NamesItsEntryType(Type entry)
    {
        var attribute = entry.Assembly.GetCustomAttribute<MessengerPluginAttribute>();

        Assert.NotNull(attribute);
        Assert.Equal(entry, attribute.EntryType);
        Assert.True(typeof(IMessengerPlugin).IsAssignableFrom(attribute.EntryType));
        Assert.NotNull(attribute.EntryType.GetConstructor(Type.EmptyTypes));
    }

    [Fact]
    public async Task SqlCipherPlugin_KeyFromEnvironment_ProvidesOneEncryptedStore()
    {
        var variable = "MESSENGER_TEST_KEY_" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable(variable, Convert.ToHexString(RandomNumberGenerator.GetBytes(32)));
        try
        {
            await using var provider = Build(new SqlCipherStoragePlugin(), new() { ["path"] = folder.Combine("store"), ["keyEnvironmentVariable"] = variable });

            await AssertTheContractsWorkAsync(provider);
            Assert.True(File.Exists(folder.Combine("store", SqlCipherStore.DatabaseFileName)));
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    [Fact]
    public async Task SqlCipherPlugin_PassphraseVariableUnset_ThrowsStorageKeyExceptionNamingIt()
    {
        var variable = "MESSENGER_TEST_UNSET_" + Guid.NewGuid().ToString("N");
        await using var provider = Build(new SqlCipherStoragePlugin(), new() { ["path"] = folder.Combine("store"), ["passphraseEnvironmentVariable"] = variable });

        var error = Assert.Throws<StorageKeyException>(() => provider.GetRequiredService<IMessageStore>());

        Assert.Contains(variable, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SqlCipherPlugin_KeyFile_OpensTheSameStoreTwice()
    {
        var keyFile = folder.Combine("store.key");
        await File.WriteAllTextAsync(keyFile, Convert.ToHexString(RandomNumberGenerator.GetBytes(32)));
        var settings = new Dictionary<string, string?> { ["path"] = folder.Combine("store"), ["keyFile"] = keyFile };
        await using (var provider = Build(new SqlCipherStoragePlugin(), settings))
        {
            await AssertTheContractsWorkAsync(provider);
        }

        await using var again = Build(new SqlCipherStoragePlugin(), settings);
        Assert.Equal("hello", (await again.GetRequiredService<IMessageStore>().GetMessageAsync("m1"))!.Text);
    }

    [Fact]
    public async Task FolderPlugin_PathsFromSettings_ProvidesOneStore()
    {
        await using var provider = Build(new FolderStoragePlugin(), new() { ["path"] = folder.Combine("data"), ["downloadsPath"] = folder.Combine("downloads") });

        await AssertTheContractsWorkAsync(provider);
        Assert.True(File.Exists(folder.Combine("data", FolderStore.IndexFileName)));
        Assert.True(File.Exists(folder.Combine("downloads", "note.txt")));
    }

    [Fact]
    public void Settings_TildePath_ResolvesUnderTheHomeFolder()
    {
        var options = new FolderStoreOptions();

        options.Bind(Settings(new() { ["path"] = "~/messenger-data", ["downloadsPath"] = "relative/downloads" }));

        Assert.Equal(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), "messenger-data"), options.Path);
        Assert.Equal(Path.GetFullPath("relative/downloads"), options.DownloadsPath);
    }

    [Fact]
    public async Task FirstPlugin_Wins_WhenBothAreLoaded()
    {
        // TryAdd: the storage plugin listed first in plugins.json provides the stores; the second adds nothing.
        var services = new ServiceCollection();
        new FolderStoragePlugin().ConfigureServices(services, Settings(new() { ["path"] = folder.Combine("data"), ["downloadsPath"] = folder.Combine("downloads") }));
        new SqlCipherStoragePlugin().ConfigureServices(services, Settings(new() { ["path"] = folder.Combine("store"), ["keyFile"] = folder.Combine("missing.key") }));
        await using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });

        Assert.IsType<FolderFileStore>(provider.GetRequiredService<IFileStore>());
    }

    private static ServiceProvider Build(IMessengerPlugin plugin, Dictionary<string, string?> settings)
    {
        var services = new ServiceCollection();
        plugin.ConfigureServices(services, Settings(settings));
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    private static IConfiguration Settings(Dictionary<string, string?> settings) => new ConfigurationBuilder().AddInMemoryCollection(settings).Build();

    private static async Task AssertTheContractsWorkAsync(ServiceProvider provider)
    {
        var messages = provider.GetRequiredService<IMessageStore>();
        var files = provider.GetRequiredService<IFileStore>();
        Assert.Same(messages, provider.GetRequiredService<IMessageStore>());
        Assert.True(await messages.AddMessageAsync(new StoredMessage { MessageId = "m1", ConversationId = "c", Direction = Direction.Outgoing, SentAt = DateTimeOffset.UnixEpoch, Text = "hello" }));
        await using (var writer = await files.OpenWriteAsync("f1", new StoredFileMetadata("note.txt", "text/plain")))
        {
            await writer.WriteAsync("hi"u8.ToArray());
            await writer.CompleteAsync();
        }

        Assert.Equal(2, (await files.GetInfoAsync("f1"))!.Length);

        // The profile records live in the same store (same database, same key).
        var profile = provider.GetRequiredService<IProfileStore>();
        await profile.SetRecordAsync("identity", "me"u8.ToArray());
        Assert.Equal("me"u8.ToArray(), await profile.GetRecordAsync("identity"));
    }
}
