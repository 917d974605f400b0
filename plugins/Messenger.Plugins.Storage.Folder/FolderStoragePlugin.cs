using Messenger.Contracts.Plugins;
using Messenger.Contracts.Storage;
using Messenger.Plugins.Storage.Folder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

[assembly: MessengerPlugin(typeof(FolderStoragePlugin))]

// The folder store encrypts nothing: a host never asks its user for a key to open it.
[assembly: StoragePlugin(RequiresKey = false)]

namespace Messenger.Plugins.Storage.Folder;

/// <summary>The plugin entry: adds the folder store as the host's <see cref="IMessageStore"/>, <see cref="IProfileStore"/> and <see cref="IFileStore"/>.</summary>
public sealed class FolderStoragePlugin : IMessengerPlugin
{
    /// <inheritdoc/>
    public void ConfigureServices(IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<FolderStoreOptions>().Configure(options => options.Bind(configuration));
        services.TryAddSingleton(provider =>
        {
            var options = provider.GetRequiredService<IOptions<FolderStoreOptions>>().Value;
            return FolderStore.Open(options.Path, options.DownloadsPath, provider.GetService<ILogger<FolderStore>>());
        });
        services.TryAddSingleton(provider => provider.GetRequiredService<FolderStore>().Messages);
        services.TryAddSingleton(provider => provider.GetRequiredService<FolderStore>().Profile);
        services.TryAddSingleton<IFileStore>(provider => provider.GetRequiredService<FolderStore>().Files);
    }
}
