using Messenger.Contracts.Chat;
using Messenger.Contracts.Framing;
using Messenger.Host.Chat;
using Messenger.Host.Framing;
using Messenger.Host.Plugins;
using Messenger.Host.Sessions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Messenger.Host;

/// <summary>Builds the Messenger generic host: core services, then the plugins of <c>plugins.json</c>, in one validated container.</summary>
public static class MessengerHost
{
    /// <summary>
    /// Creates a host builder with the core services and every plugin of <paramref name="pluginsFile"/> loaded.
    /// Callers may add services and logging before <c>Build()</c>; the container is validated on build.
    /// </summary>
    /// <param name="pluginsFile">The <c>plugins.json</c> to load, or null for a host without plugins.</param>
    /// <param name="settings">Generic host settings (arguments, content root), or null.</param>
    /// <param name="bootstrapLogger">Told about plugin loading before the host's own logging exists, or null for the console.</param>
    /// <param name="pluginSettings">Chooses each plugin's settings (see <see cref="PluginSettingsSelector"/>), or null for the file's own.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="PluginsConfigurationException"><paramref name="pluginsFile"/> is missing or malformed.</exception>
    public static HostApplicationBuilder CreateBuilder(string? pluginsFile, HostApplicationBuilderSettings? settings = null, ILogger? bootstrapLogger = null, PluginSettingsSelector? pluginSettings = null)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(settings ?? new HostApplicationBuilderSettings());
        builder.ConfigureContainer(new DefaultServiceProviderFactory(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true }));
        builder.Services.AddLogging();
        builder.Services.AddMessengerCore();

        PluginCatalog catalog;
        if (pluginsFile is null)
        {
            catalog = PluginCatalog.Empty();
        }
        else
        {
            var file = PluginsFile.Load(pluginsFile);
            using var fallbackFactory = bootstrapLogger is null ? LoggerFactory.Create(l => l.AddSimpleConsoleIfAvailable()) : null;
            catalog = PluginCatalog.Load(file, builder.Services, bootstrapLogger ?? fallbackFactory!.CreateLogger("Messenger.Plugins"), pluginSettings);
        }

        builder.Services.AddSingleton(catalog);
        return builder;
    }

    /// <summary>
    /// Loads the plugins of <paramref name="pluginsFile"/> to report on them, without building the container: no
    /// service is created, so nothing (a store, a socket) is opened.
    /// </summary>
    /// <param name="pluginsFile">The <c>plugins.json</c> to read.</param>
    /// <param name="bootstrapLogger">Told about each plugin loaded or skipped.</param>
    /// <returns>What loaded, what was disabled, and what failed and why.</returns>
    /// <exception cref="PluginsConfigurationException"><paramref name="pluginsFile"/> is missing or malformed.</exception>
    public static PluginCatalog InspectPlugins(string pluginsFile, ILogger bootstrapLogger) =>
        PluginCatalog.Load(PluginsFile.Load(pluginsFile), new ServiceCollection(), bootstrapLogger);

    /// <summary>Builds the host and checks the frame routing table, so a kind claimed twice fails at start, not mid-chat.</summary>
    /// <param name="builder">A builder from <see cref="CreateBuilder"/>.</param>
    /// <returns>The built host.</returns>
    /// <exception cref="FrameKindConflictException">Two handlers claim one frame kind.</exception>
    public static IHost BuildMessengerHost(this HostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var host = builder.Build();
        _ = host.Services.GetRequiredService<FrameRouter>();
        return host;
    }

    /// <summary>Adds the host's own services: clock, framing, sessions, chat.</summary>
    /// <param name="services">The service collection.</param>
    /// <returns>The same collection.</returns>
    public static IServiceCollection AddMessengerCore(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<FramingOptions>();
        services.AddOptions<ChatLimits>();
        services.TryAddSingleton<FrameRouter>();
        services.TryAddSingleton<PeerSessionHost>();
        services.TryAddSingleton<ChatService>();
        services.AddSingleton<IChatService>(sp => sp.GetRequiredService<ChatService>());
        services.AddSingleton<IFrameHandler>(sp => sp.GetRequiredService<ChatService>());
        services.AddSingleton<IPeerSessionObserver>(sp => sp.GetRequiredService<ChatService>());
        return services;
    }

    private static ILoggingBuilder AddSimpleConsoleIfAvailable(this ILoggingBuilder logging) =>
        logging.AddSimpleConsole(o => o.SingleLine = true);
}
