using Messenger.Contracts.Framing;
using Messenger.Host.Framing;
using Messenger.Host.Sessions;
using Messenger.TestSupport;
using Microsoft.Extensions.Logging;

namespace Messenger.Host.Tests;

/// <summary>Two sessions over an in-memory channel pair, each with its own handlers.</summary>
internal sealed class SessionPair : IAsyncDisposable
{
    private SessionPair(InMemoryChannelPair channels, PeerSession a, PeerSession b, Task runA, Task runB, CollectingLoggerProvider logs)
    {
        Channels = channels;
        A = a;
        B = b;
        RunA = runA;
        RunB = runB;
        Logs = logs;
    }

    public InMemoryChannelPair Channels { get; }

    public PeerSession A { get; }

    public PeerSession B { get; }

    public Task RunA { get; }

    public Task RunB { get; }

    public CollectingLoggerProvider Logs { get; }

    public static async Task<SessionPair> StartAsync(
        IEnumerable<IFrameHandler> handlersA,
        IEnumerable<IFrameHandler> handlersB,
        InMemoryChannelOptions? channelOptions = null,
        FramingOptions? framing = null)
    {
        var channels = InMemoryChannelPair.Create(channelOptions);
        var logs = new CollectingLoggerProvider();
        var logger = logs.CreateLogger("session");
        framing ??= new FramingOptions();
        var a = new PeerSession(channels.A, "peer-b", new FrameRouter(handlersA), [], framing, logger);
        var b = new PeerSession(channels.B, "peer-a", new FrameRouter(handlersB), [], framing, logger);
        await a.StartAsync(CancellationToken.None);
        await b.StartAsync(CancellationToken.None);
        return new SessionPair(channels, a, b, a.RunAsync(CancellationToken.None), b.RunAsync(CancellationToken.None), logs);
    }

    public async ValueTask DisposeAsync()
    {
        await Channels.DisposeAsync();
        await Task.WhenAll(RunA, RunB).WaitAsync(TimeSpan.FromSeconds(10));
    }
}
