using Messenger.Contracts.Plugins;
using Messenger.Contracts.Previews;
using Messenger.Plugins.Preview.Video;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

[assembly: MessengerPlugin(typeof(VideoPreviewPlugin))]

namespace Messenger.Plugins.Preview.Video;

/// <summary>The plugin entry: registers <see cref="FFmpegVideoPreviewGenerator"/> with settings from the plugin's configuration.</summary>
public sealed class VideoPreviewPlugin : IMessengerPlugin
{
    /// <inheritdoc />
    public void ConfigureServices(IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.TryAddSingleton(VideoPreviewSettings.FromConfiguration(configuration));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPreviewGenerator, FFmpegVideoPreviewGenerator>());
    }
}
