using System.Text.Json;
using Messenger.Contracts.FileTransfer;
using Messenger.Contracts.Storage;
using Messenger.Host;
using Messenger.Host.Framing;
using Messenger.Host.Plugins;
using Messenger.Host.Sessions;
using Messenger.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Messenger.Plugins.FileTransfer.Tests;

/// <summary>The plugin as the host really loads it: from its build folder through plugins.json, in its own load context.</summary>
public sealed class PluginLoadingTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task PluginsJson_FileTransferAndFolderStore_LoadAndTransferEndToEnd()
    {
        using var a = Build("a");
        using var b = Build("b");
        Assert.Empty(a.Services.GetRequiredService<PluginCatalog>().Failed);
        Assert.Equal("FileTransfer", a.Services.GetRequiredService<FrameRouter>().Kinds[103]);
        await using var channels = InMemoryChannelPair.Create();
        await a.Services.GetRequiredService<PeerSessionHost>().StartAsync(channels.A, "peer-b");
        await b.Services.GetRequiredService<PeerSessionHost>().StartAsync(channels.B, "peer-a");
        var received = new TransferEventLog(b.Services.GetRequiredService<IFileTransferService>());
        var path = _folder.WritePatternFile("loaded.bin", 100_000);

        var offered = await a.Services.GetRequiredService<IFileTransferService>().SendFileAsync(path);

        var done = Assert.IsType<TransferCompleted>(await received.WaitForEndAsync(offered.TransferId));
        Assert.Equal(await File.ReadAllBytesAsync(path), await TransferTests.ReadStoredAsync(b.Services.GetRequiredService<IFileStore>(), done.Transfer.FileId!));
    }

    private IHost Build(string name)
    {
        var file = _folder.Combine(name + "-plugins.json");
        File.WriteAllText(file, JsonSerializer.Serialize(new
        {
            plugins = new object[]
            {
                new { name = "Storage", folder = RepoPaths.PluginFolder("Messenger.Plugins.Storage.Folder"), settings = new { path = _folder.Combine(name, "data"), downloadsPath = _folder.Combine(name, "downloads") } },
                new { name = "FileTransfer", folder = RepoPaths.PluginFolder("Messenger.Plugins.FileTransfer"), settings = new { autoAcceptMaxBytes = 1_000_000, chunkSize = 4096 } },
            },
        }));
        return MessengerHost.CreateBuilder(file, bootstrapLogger: new CollectingLoggerProvider().CreateLogger("bootstrap")).BuildMessengerHost();
    }
}
