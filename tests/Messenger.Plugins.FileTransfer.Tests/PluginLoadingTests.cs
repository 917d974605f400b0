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

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task PluginsJson_PreviewsEnabledOrDisabled_OfferCarriesAPreviewOrNone_AndTheFileArrives(bool previews)
    {
        using var a = Build("a", previews);
        using var b = Build("b", previews);
        Assert.Empty(a.Services.GetRequiredService<PluginCatalog>().Failed);
        await using var channels = InMemoryChannelPair.Create();
        await a.Services.GetRequiredService<PeerSessionHost>().StartAsync(channels.A, "peer-b");
        await b.Services.GetRequiredService<PeerSessionHost>().StartAsync(channels.B, "peer-a");
        var received = new TransferEventLog(b.Services.GetRequiredService<IFileTransferService>());
        var photo = await MakeJpegAsync(_folder.Combine("photo.jpg"));

        var offered = await a.Services.GetRequiredService<IFileTransferService>().SendFileAsync(photo);

        Assert.IsType<TransferCompleted>(await received.WaitForEndAsync(offered.TransferId));
        var atReceiver = b.Services.GetRequiredService<IFileTransferService>().GetTransfers().Single(t => t.TransferId == offered.TransferId);
        if (previews)
        {
            Assert.NotNull(atReceiver.Preview);
            Assert.Equal("image/jpeg", atReceiver.Preview.SourceMediaType);
            Assert.InRange(atReceiver.Preview.Width, 1, 300);
        }
        else
        {
            Assert.Null(atReceiver.Preview);
        }
    }

    private static async Task<string> MakeJpegAsync(string path)
    {
        var start = new System.Diagnostics.ProcessStartInfo("ffmpeg") { RedirectStandardError = true };
        foreach (var arg in new[] { "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=640x480", "-frames:v", "1", path })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(process.ExitCode == 0, await errors);
        return path;
    }

    private IHost Build(string name, bool previews = false)
    {
        var file = _folder.Combine(name + "-plugins.json");
        File.WriteAllText(file, JsonSerializer.Serialize(new
        {
            plugins = new object[]
            {
                new { name = "Storage", folder = RepoPaths.PluginFolder("Messenger.Plugins.Storage.Folder"), settings = (object)new { path = _folder.Combine(name, "data"), downloadsPath = _folder.Combine(name, "downloads") }, enabled = true },
                new { name = "FileTransfer", folder = RepoPaths.PluginFolder("Messenger.Plugins.FileTransfer"), settings = (object)new { autoAcceptMaxBytes = 1_000_000, chunkSize = 4096 }, enabled = true },
                new { name = "Preview.Image", folder = RepoPaths.PluginFolder("Messenger.Plugins.Preview.Image"), settings = (object)new { format = "webp" }, enabled = previews },
            },
        }));
        return MessengerHost.CreateBuilder(file, bootstrapLogger: new CollectingLoggerProvider().CreateLogger("bootstrap")).BuildMessengerHost();
    }
}
