using System.Text.Json;
using Messenger.Contracts.Chat;
using Messenger.Contracts.Storage;
using Messenger.Host.Plugins;
using Messenger.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace Messenger.Host.Tests;

/// <summary>Swapping the store is a plugins.json edit: the host runs, chats and stores with either storage plugin.</summary>
public sealed class StorageSwapTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData("Messenger.Plugins.Storage.SqlCipher", "SqlCipher")]
    [InlineData("Messenger.Plugins.Storage.Folder", "Folder")]
    public async Task Host_WithEitherStoragePlugin_StoresChatOnBothSides(string pluginProject, string typeFragment)
    {
        var fileA = WritePluginsFile("alice", pluginProject);
        var fileB = WritePluginsFile("bob", pluginProject);
        await using var pair = await HostPair.StartAsync(fileA, pluginsFileB: fileB);
        Assert.Equal(pluginProject, Assert.Single(pair.A.Services.GetRequiredService<PluginCatalog>().Loaded).Name);
        var storeA = pair.A.Services.GetRequiredService<IMessageStore>();
        var storeB = pair.B.Services.GetRequiredService<IMessageStore>();
        Assert.Contains(pluginProject, storeA.GetType().Assembly.Location, StringComparison.Ordinal);
        Assert.Contains(typeFragment, pair.A.Services.GetRequiredService<IFileStore>().GetType().FullName, StringComparison.Ordinal);

        var delivered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var chat = pair.A.Services.GetRequiredService<IChatService>();
        chat.ChatChanged += (_, e) =>
        {
            if (e is ChatMessageDelivered)
            {
                delivered.TrySetResult();
            }
        };
        var sent = await chat.SendAsync("kept at rest");
        await delivered.Task.WaitAsync(TimeSpan.FromSeconds(10));

        var atA = await storeA.GetMessageAsync(sent.MessageId);
        Assert.NotNull(atA);
        Assert.NotNull(atA.DeliveredAt);
        var atB = await storeB.GetMessageAsync(sent.MessageId);
        Assert.Equal("kept at rest", atB?.Text);
        Assert.Equal(Direction.Incoming, atB?.Direction);
    }

    private string WritePluginsFile(string peer, string pluginProject)
    {
        var keyFile = _temp.File($"{peer}.key");
        File.WriteAllText(keyFile, Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)));
        var path = _temp.File($"{peer}-plugins.json");
        File.WriteAllText(path, JsonSerializer.Serialize(new
        {
            plugins = new[]
            {
                new
                {
                    name = pluginProject,
                    folder = RepoPaths.PluginFolder(pluginProject),
                    settings = new { path = _temp.File($"{peer}-store"), downloadsPath = _temp.File($"{peer}-downloads"), keyFile },
                },
            },
        }));
        return path;
    }
}
