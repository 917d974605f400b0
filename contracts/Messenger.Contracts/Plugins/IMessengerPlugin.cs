using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Messenger.Contracts.Plugins;

/// <summary>
/// The entry point of a plugin. The host creates one instance of the type named by
/// <see cref="MessengerPluginAttribute"/> (it needs a public parameterless constructor) and calls
/// <see cref="ConfigureServices"/> once, before the container is built.
/// </summary>
public interface IMessengerPlugin
{
    /// <summary>Adds the plugin's services to the host container.</summary>
    /// <param name="services">The host's one service collection.</param>
    /// <param name="configuration">The plugin's own <c>settings</c> section from <c>plugins.json</c> (empty when absent).</param>
    void ConfigureServices(IServiceCollection services, IConfiguration configuration);
}
