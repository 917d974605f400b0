using System.Text.Json;
using Messenger.Contracts.Chat;
using Messenger.Contracts.Framing;
using Messenger.Host.Framing;
using Messenger.Host.Plugins;
using Messenger.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Messenger.Host.Tests;

public sealed class PluginLoadingTests : IDisposable
{
    private readonly TempFolder _temp = new();

    private static string ReadReceiptsFolder => RepoPaths.PluginFolder("Messenger.Plugins.ReadReceipts");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void SamplePlugin_LoadsFromItsBuildFolder_AndRegistersItsFrameKind()
    {
        var file = WritePluginsFile(new { name = "ReadReceipts", folder = ReadReceiptsFolder, settings = new { sendReceipts = true } });
        var logs = new CollectingLoggerProvider();

        var builder = MessengerHost.CreateBuilder(file, bootstrapLogger: logs.CreateLogger("bootstrap"));
        using var host = builder.BuildMessengerHost();

        var catalog = host.Services.GetRequiredService<PluginCatalog>();
        var loaded = Assert.Single(catalog.Loaded);
        Assert.Equal("ReadReceipts", loaded.Name);
        Assert.Equal(1, loaded.ContractsMajor);
        Assert.Empty(catalog.Failed);
        var router = host.Services.GetRequiredService<FrameRouter>();
        Assert.Equal("ReadReceipts", router.Kinds[200]);
        Assert.Contains(logs.Entries, e => e.Message.Contains("Plugin 'ReadReceipts'", StringComparison.Ordinal) && e.Message.Contains("loaded", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SamplePlugin_EndToEnd_ReceiptComesBackAfterChat()
    {
        var file = WritePluginsFile(new { name = "ReadReceipts", folder = ReadReceiptsFolder });
        await using var pair = await HostPair.StartAsync(file);

        var sent = await pair.A.Services.GetRequiredService<IChatService>().SendAsync("did you read this?");

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!pair.LogsA.Entries.Any(e => e.Message.Contains($"Message {sent.MessageId} was read by the peer", StringComparison.Ordinal)))
        {
            await Task.Delay(5, timeout.Token);
        }

        Assert.Equal(0, pair.SessionA.Statistics.UnknownKind);
        Assert.Equal(0, pair.SessionA.Statistics.Malformed);
    }

    [Fact]
    public void ThrowingPlugin_IsSkippedWithItsNameLogged_OthersStillLoad_NothingOfItRegistered()
    {
        var file = WritePluginsFile(
            new { name = "Broken", folder = RepoPaths.TestPluginFolder("Messenger.TestPlugins.Throwing") },
            new { name = "ReadReceipts", folder = ReadReceiptsFolder });
        var logs = new CollectingLoggerProvider();

        var builder = MessengerHost.CreateBuilder(file, bootstrapLogger: logs.CreateLogger("bootstrap"));
        using var host = builder.BuildMessengerHost();

        var catalog = host.Services.GetRequiredService<PluginCatalog>();
        var failed = Assert.Single(catalog.Failed);
        Assert.Equal("Broken", failed.Name);
        Assert.Contains("the test plugin refuses to configure", failed.Reason, StringComparison.Ordinal);
        Assert.Equal("ReadReceipts", Assert.Single(catalog.Loaded).Name);
        var error = Assert.Single(logs.Entries, e => e.Level == LogLevel.Error);
        Assert.Contains($"Plugin 'Broken' ({file}:1:13) was skipped", error.Message, StringComparison.Ordinal); // the entry's place in the file
        Assert.DoesNotContain(builder.Services, d => d.ServiceType.Name == "ThrowingPluginMarker");
    }

    [Fact]
    public void PluginBuiltForNewerContracts_IsRefused_SayingSo()
    {
        var file = WritePluginsFile(new { name = "Future", folder = RepoPaths.TestPluginFolder("Messenger.TestPlugins.FutureContracts") });
        var logs = new CollectingLoggerProvider();

        using var host = MessengerHost.CreateBuilder(file, bootstrapLogger: logs.CreateLogger("bootstrap")).BuildMessengerHost();

        var failed = Assert.Single(host.Services.GetRequiredService<PluginCatalog>().Failed);
        Assert.Contains($"Messenger.Contracts 2.x, newer than this host's {Messenger.Contracts.ContractsVersion.Current}", failed.Reason, StringComparison.Ordinal);
        Assert.Contains(logs.Entries, e => e.Level == LogLevel.Error && e.Message.Contains("'Future'", StringComparison.Ordinal));
    }

    [Fact]
    public void MissingFolder_AssemblyWithoutAttribute_AndDisabledEntry_AreReportedNotFatal()
    {
        var notAPlugin = Directory.CreateDirectory(_temp.File("NotAPlugin")).FullName;
        File.Copy(typeof(RepoPaths).Assembly.Location, Path.Combine(notAPlugin, "NotAPlugin.dll"));
        var file = WritePluginsFile(
            new { name = "Ghost", folder = _temp.File("nowhere") },
            new { name = "Plain", folder = notAPlugin },
            new { name = "Off", folder = ReadReceiptsFolder, enabled = false });

        using var host = MessengerHost.CreateBuilder(file, bootstrapLogger: new CollectingLoggerProvider().CreateLogger("b")).BuildMessengerHost();

        var catalog = host.Services.GetRequiredService<PluginCatalog>();
        Assert.Contains("does not exist", catalog.Failed.Single(f => f.Name == "Ghost").Reason, StringComparison.Ordinal);
        Assert.Contains("has no [assembly: MessengerPlugin", catalog.Failed.Single(f => f.Name == "Plain").Reason, StringComparison.Ordinal);
        Assert.Equal(["Off"], catalog.Disabled);
        Assert.Empty(catalog.Loaded);
        Assert.DoesNotContain(200, host.Services.GetRequiredService<FrameRouter>().Kinds.Keys);
    }

    [Fact]
    public void SamePluginTwice_ClaimsOneKindTwice_HostRefusesToStart()
    {
        var file = WritePluginsFile(
            new { name = "Receipts1", folder = ReadReceiptsFolder },
            new { name = "Receipts2", folder = ReadReceiptsFolder });

        var builder = MessengerHost.CreateBuilder(file, bootstrapLogger: new CollectingLoggerProvider().CreateLogger("b"));
        var ex = Assert.Throws<FrameKindConflictException>(() => builder.BuildMessengerHost());
        Assert.Contains("Frame kind 200", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PluginSettingThatIsInvalid_SkipsThePluginWithTheSettingNamed()
    {
        var file = WritePluginsFile(new { name = "ReadReceipts", folder = ReadReceiptsFolder, settings = new { sendReceipts = "sometimes" } });

        using var host = MessengerHost.CreateBuilder(file, bootstrapLogger: new CollectingLoggerProvider().CreateLogger("b")).BuildMessengerHost();

        Assert.Contains("'sendReceipts' must be true or false", Assert.Single(host.Services.GetRequiredService<PluginCatalog>().Failed).Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{ \"plugins\": [ { \"name\": \"x\", ", "not valid JSON: ")]
    [InlineData("[]", "must be an object with a \"plugins\" array")]
    [InlineData("{ \"plugins\": {} }", "\"plugins\" must be an array, not an object")]
    [InlineData("{ \"plugins\": [ 42 ] }", "plugins[0]: an entry must be an object, not a number")]
    [InlineData("{ \"plugins\": [ { \"folder\": \"a\" } ] }", "plugins[0]: \"name\" is required")]
    [InlineData("{ \"plugins\": [ { \"name\": \"A\", \"folder\": \"a\" }, { \"name\": \"B\" } ] }", "plugins[1] (\"B\"): \"folder\" is required")]
    [InlineData("{ \"plugins\": [ { \"name\": \"A\", \"folder\": 7 } ] }", "plugins[0] (\"A\"): \"folder\" must be a string, not a number")]
    [InlineData("{ \"plugins\": [ { \"name\": \"A\", \"folder\": \"a\", \"enabled\": \"yes\" } ] }", "\"enabled\" must be true or false, not a string")]
    [InlineData("{ \"plugins\": [ { \"name\": \"A\", \"folder\": \"a\", \"folders\": [] } ] }", "unknown property \"folders\"")]
    [InlineData("{ \"plugins\": [ { \"name\": \"A\", \"folder\": \"a\", \"settings\": [] } ] }", "\"settings\" must be an object, not an array")]
    [InlineData("{ \"plugins\": [ { \"name\": \"A\", \"folder\": \"a\", \"assembly\": \"../evil.dll\" } ] }", "must be a file name inside the plugin's folder")]
    [InlineData("{ \"plugins\": [ { \"name\": \"A\", \"folder\": \"a\" }, { \"name\": \"a\", \"folder\": \"b\" } ] }", "plugins[1] (\"a\"): the name is used by an earlier entry")]
    public void BadPluginsFile_FailsWithAClearErrorNamingTheEntry(string json, string expected)
    {
        var path = _temp.File("plugins.json");
        File.WriteAllText(path, json);

        var ex = Assert.Throws<PluginsConfigurationException>(() => MessengerHost.CreateBuilder(path));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.StartsWith(path, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingPluginsFile_FailsNamingTheFile()
    {
        var path = _temp.File("absent.json");
        var ex = Assert.Throws<PluginsConfigurationException>(() => MessengerHost.CreateBuilder(path));
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RelativeFolders_ResolveAgainstThePluginsFileFolder()
    {
        var parsed = PluginsFile.Parse("{ \"plugins\": [ { \"name\": \"A\", \"folder\": \"plugins/A\" } ] }", "/srv/messenger/plugins.json");
        var entry = Assert.Single(parsed.Entries);
        Assert.Equal("/srv/messenger/plugins/A", entry.Folder);
        Assert.Equal("/srv/messenger/plugins/A/A.dll", entry.AssemblyPath);
        Assert.True(entry.Enabled);
    }

    [Fact]
    public void BadPluginsFile_OverSeveralLines_NamesLineAndColumnFromOne_InCharacters()
    {
        var path = _temp.File("plugins.json");
        File.WriteAllText(path, """
            {
              // comments are allowed
              "plugins": [
                { "name": "Ä", "folder": "a" },
                { "name": "B", "folder": "b", "enabled": "yes" }
              ]
            }
            """);

        var ex = Assert.Throws<PluginsConfigurationException>(() => MessengerHost.CreateBuilder(path));

        Assert.StartsWith($"{path}:5:35: plugins[1] (\"B\"): \"enabled\" must be true or false", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PluginsFileThatIsNotJson_NamesLineAndColumnFromOne_WithoutTheParsersZeroBasedTail()
    {
        var path = _temp.File("plugins.json");
        File.WriteAllText(path, "{\n  \"plugins\": [\n    { \"name\": \"é\" ] }\n");

        var ex = Assert.Throws<PluginsConfigurationException>(() => MessengerHost.CreateBuilder(path));

        Assert.StartsWith($"{path}:3:19: not valid JSON: ", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("LineNumber", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SettingsSelector_ChoosesWhatThePluginIsConfiguredWith_AndSeesTheEntry()
    {
        var file = WritePluginsFile(new { name = "ReadReceipts", folder = ReadReceiptsFolder, settings = new { sendReceipts = "sometimes" } });
        var seen = new List<(string Name, string? Given, bool Storage)>();

        using var host = MessengerHost.CreateBuilder(file, bootstrapLogger: new CollectingLoggerProvider().CreateLogger("b"), pluginSettings: (entry, storage) =>
        {
            seen.Add((entry.Name, entry.Settings["sendReceipts"], storage is not null));
            return new ConfigurationBuilder().AddInMemoryCollection([new("sendReceipts", "true")]).Build();
        }).BuildMessengerHost();

        var catalog = host.Services.GetRequiredService<PluginCatalog>();
        Assert.Empty(catalog.Failed); // the file's invalid value never reached the plugin
        Assert.Null(Assert.Single(catalog.Loaded).Storage);
        Assert.Equal([("ReadReceipts", "sometimes", false)], seen);
    }

    [Theory]
    [InlineData("Messenger.Plugins.Storage.Folder", false)]
    [InlineData("Messenger.Plugins.Storage.SqlCipher", true)]
    public void StoragePlugins_DeclareWhetherTheyNeedAKey(string project, bool requiresKey)
    {
        var file = WritePluginsFile(new { name = "Storage", folder = RepoPaths.PluginFolder(project) });

        var catalog = MessengerHost.InspectPlugins(file, new CollectingLoggerProvider().CreateLogger("b"));

        Assert.Equal(requiresKey, Assert.Single(catalog.Loaded).Storage?.RequiresKey);
    }

    private string WritePluginsFile(params object[] entries)
    {
        var path = _temp.File("plugins.json");
        File.WriteAllText(path, JsonSerializer.Serialize(new { plugins = entries }));
        return path;
    }
}
