using Messenger.Contracts.Plugins;
using Messenger.TestPlugins.FutureContracts;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

// Claims to be built against contracts 2.x, as a plugin from a newer Messenger would be.
[assembly: MessengerPlugin(typeof(FutureContractsPlugin), contractsMajor: 2)]

namespace Messenger.TestPlugins.FutureContracts;

/// <summary>A plugin built for a newer contracts major: the host must refuse it without calling it.</summary>
public sealed class FutureContractsPlugin : IMessengerPlugin
{
    public void ConfigureServices(IServiceCollection services, IConfiguration configuration) =>
        throw new InvalidOperationException("a refused plugin must never be configured");
}
