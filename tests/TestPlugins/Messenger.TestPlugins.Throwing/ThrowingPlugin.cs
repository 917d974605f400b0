using Messenger.Contracts.Plugins;
using Messenger.TestPlugins.Throwing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

[assembly: MessengerPlugin(typeof(ThrowingPlugin))]

namespace Messenger.TestPlugins.Throwing;

/// <summary>A plugin that registers a service and then throws, to prove the host skips it and keeps nothing of it.</summary>
public sealed class ThrowingPlugin : IMessengerPlugin
{
    public void ConfigureServices(IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<ThrowingPluginMarker>();
        throw new InvalidOperationException("the test plugin refuses to configure");
    }
}

/// <summary>Registered before the throw; must not reach the host's container.</summary>
public sealed class ThrowingPluginMarker;
