using Messenger.Contracts.Plugins;
using Messenger.Contracts.Previews;
using Messenger.Plugins.Preview.Image;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

[assembly: MessengerPlugin(typeof(ImagePreviewPlugin))]

namespace Messenger.Plugins.Preview.Image;

/// <summary>The plugin entry: registers <see cref="VipsImagePreviewGenerator"/> with settings from the plugin's configuration.</summary>
public sealed class ImagePreviewPlugin : IMessengerPlugin
{
    /// <inheritdoc />
    public void ConfigureServices(IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.TryAddSingleton(ImagePreviewSettings.FromConfiguration(configuration));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPreviewGenerator, VipsImagePreviewGenerator>());
    }
}
