using Messenger.Host.Sessions;
using Messenger.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Messenger.Host.Tests;

/// <summary>Two complete Messenger hosts joined by an in-memory channel pair.</summary>
internal sealed class HostPair : IAsyncDisposable
{
    private HostPair(IHost a, IHost b, InMemoryChannelPair channels, PeerSession sessionA, PeerSession sessionB, CollectingLoggerProvider logsA, CollectingLoggerProvider logsB)
    {
        A = a;
        B = b;
        Channels = channels;
        SessionA = sessionA;
        SessionB = sessionB;
        LogsA = logsA;
        LogsB = logsB;
    }

    public IHost A { get; }

    public IHost B { get; }

    public InMemoryChannelPair Channels { get; }

    public PeerSession SessionA { get; }

    public PeerSession SessionB { get; }

    public CollectingLoggerProvider LogsA { get; }

    public CollectingLoggerProvider LogsB { get; }

    public static async Task<HostPair> StartAsync(string? pluginsFile = null, Action<IServiceCollection>? configure = null, string? pluginsFileB = null)
    {
        var logsA = new CollectingLoggerProvider();
        var logsB = new CollectingLoggerProvider();
        var a = Build(pluginsFile, configure, logsA);
        var b = Build(pluginsFileB ?? pluginsFile, configure, logsB);
        var channels = InMemoryChannelPair.Create();
        var (sessionA, _) = await a.Services.GetRequiredService<PeerSessionHost>().StartAsync(channels.A, "peer-b");
        var (sessionB, _) = await b.Services.GetRequiredService<PeerSessionHost>().StartAsync(channels.B, "peer-a");
        return new HostPair(a, b, channels, sessionA, sessionB, logsA, logsB);
    }

    public async ValueTask DisposeAsync()
    {
        await Channels.DisposeAsync();
        A.Dispose();
        B.Dispose();
    }

    private static IHost Build(string? pluginsFile, Action<IServiceCollection>? configure, CollectingLoggerProvider logs)
    {
        var builder = MessengerHost.CreateBuilder(pluginsFile, bootstrapLogger: logs.CreateLogger("bootstrap"));
        builder.Logging.AddProvider(logs);
        configure?.Invoke(builder.Services);
        return builder.BuildMessengerHost();
    }
}
