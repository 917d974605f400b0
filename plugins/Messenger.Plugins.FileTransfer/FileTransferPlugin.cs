using Messenger.Contracts.FileTransfer;
using Messenger.Contracts.Framing;
using Messenger.Contracts.Plugins;
using Messenger.Plugins.FileTransfer;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

[assembly: MessengerPlugin(typeof(FileTransferPlugin))]

namespace Messenger.Plugins.FileTransfer;

/// <summary>The plugin's entry point: registers the file-transfer service, its frame kinds and its session observer.</summary>
public sealed class FileTransferPlugin : IMessengerPlugin
{
    /// <inheritdoc />
    public void ConfigureServices(IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddFileTransfer(options => options.Bind(configuration));
    }
}

/// <summary>Adds the file-transfer plugin's services.</summary>
public static class FileTransferServiceCollectionExtensions
{
    /// <summary>Adds <see cref="IFileTransferService"/>, its frame handler (kinds 100–108) and its session observer.</summary>
    /// <param name="services">The host's services.</param>
    /// <param name="configure">Changes the options, or null.</param>
    /// <returns>The same collection.</returns>
    /// <exception cref="InvalidOperationException">An option is out of range.</exception>
    public static IServiceCollection AddFileTransfer(this IServiceCollection services, Action<FileTransferOptions>? configure = null)
    {
        var options = new FileTransferOptions();
        configure?.Invoke(options);
        options.Validate();
        services.TryAddSingleton(options);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IFileSource, DiskFileSource>();
        services.TryAddSingleton<FileTransferService>();
        services.TryAddSingleton<IFileTransferService>(sp => sp.GetRequiredService<FileTransferService>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IFrameHandler, FileTransferService>(sp => sp.GetRequiredService<FileTransferService>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPeerSessionObserver, FileTransferService>(sp => sp.GetRequiredService<FileTransferService>()));
        return services;
    }
}
