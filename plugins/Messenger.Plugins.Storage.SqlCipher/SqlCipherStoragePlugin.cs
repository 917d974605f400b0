using Messenger.Contracts.Plugins;
using Messenger.Contracts.Storage;
using Messenger.Plugins.Storage.SqlCipher;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

[assembly: MessengerPlugin(typeof(SqlCipherStoragePlugin))]
[assembly: StoragePlugin(RequiresKey = true)]

namespace Messenger.Plugins.Storage.SqlCipher;

/// <summary>The plugin entry: adds the SQLCipher store as the host's <see cref="IMessageStore"/>, <see cref="IProfileStore"/> and <see cref="IFileStore"/>.</summary>
public sealed class SqlCipherStoragePlugin : IMessengerPlugin
{
    /// <inheritdoc/>
    public void ConfigureServices(IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<SqlCipherStoreOptions>().Configure(options => options.Bind(configuration));
        // The store opens on first use, so a missing key surfaces as a typed error when storage is needed.
        services.TryAddSingleton(provider =>
        {
            var options = provider.GetRequiredService<IOptions<SqlCipherStoreOptions>>().Value;
            return SqlCipherStore.Open(options.Path, options.ResolveKey(), provider.GetService<ILogger<SqlCipherStore>>());
        });
        services.TryAddSingleton(provider => provider.GetRequiredService<SqlCipherStore>().Messages);
        services.TryAddSingleton(provider => provider.GetRequiredService<SqlCipherStore>().Profile);
        services.TryAddSingleton<IFileStore>(provider => provider.GetRequiredService<SqlCipherStore>().Files);
    }
}
