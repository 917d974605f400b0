using Messenger.Contracts.Framing;
using Messenger.Contracts.Plugins;
using Messenger.Plugins.ReadReceipts;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

[assembly: MessengerPlugin(typeof(ReadReceiptsPlugin))]

namespace Messenger.Plugins.ReadReceipts;

/// <summary>The plugin's entry point: registers the read-receipt frame handler.</summary>
public sealed class ReadReceiptsPlugin : IMessengerPlugin
{
    /// <inheritdoc />
    public void ConfigureServices(IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = new ReadReceiptOptions();
        if (configuration["sendReceipts"] is { } send)
        {
            options.SendReceipts = bool.TryParse(send, out var value)
                ? value
                : throw new InvalidOperationException($"ReadReceipts setting 'sendReceipts' must be true or false, not '{send}'.");
        }
        services.TryAddSingleton(options);
        services.TryAddSingleton<ReadReceiptHandler>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IFrameHandler, ReadReceiptHandler>(sp => sp.GetRequiredService<ReadReceiptHandler>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPeerSessionObserver, ReadReceiptHandler>(sp => sp.GetRequiredService<ReadReceiptHandler>()));
    }
}

/// <summary>The plugin's settings in <c>plugins.json</c>.</summary>
public sealed class ReadReceiptOptions
{
    /// <summary>Whether this peer tells the sender it read a message (receipts from the peer are always shown).</summary>
    public bool SendReceipts { get; set; } = true;
}
