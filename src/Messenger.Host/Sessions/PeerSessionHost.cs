using Messenger.Contracts.Channels;
using Messenger.Contracts.Framing;
using Messenger.Host.Framing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Messenger.Host.Sessions;

/// <summary>
/// Starts sessions on data channels the transport (or a test) hands over, and knows the current one.
/// One peer at a time: a new session replaces an ended one, as after a reconnect.
/// </summary>
public sealed class PeerSessionHost
{
    private readonly FrameRouter _router;
    private readonly IReadOnlyList<IPeerSessionObserver> _observers;
    private readonly FramingOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private PeerSession? _current;

    /// <summary>Creates the session host.</summary>
    /// <param name="router">The frame routing table.</param>
    /// <param name="observers">Everything told about sessions starting and ending.</param>
    /// <param name="options">Framing limits.</param>
    /// <param name="loggerFactory">Logging.</param>
    public PeerSessionHost(FrameRouter router, IEnumerable<IPeerSessionObserver> observers, IOptions<FramingOptions> options, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        _router = router;
        _observers = observers.ToArray();
        _options = options.Value;
        _loggerFactory = loggerFactory;
    }

    /// <summary>The running session, or null.</summary>
    public PeerSession? Current => Volatile.Read(ref _current);

    /// <summary>
    /// Starts a session on an open channel: tells the observers, then routes received frames until the channel closes.
    /// </summary>
    /// <param name="channel">An open data channel to the peer.</param>
    /// <param name="peerId">The peer's stable identity.</param>
    /// <param name="cancellationToken">Ends the session early.</param>
    /// <returns>The started session and the task that runs it until it ends.</returns>
    public async Task<(PeerSession Session, Task Running)> StartAsync(IDataChannel channel, string peerId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentException.ThrowIfNullOrWhiteSpace(peerId);
        if (channel.State != DataChannelState.Open)
        {
            throw new InvalidOperationException($"A session needs an open channel; '{channel.Label}' is {channel.State}.");
        }

        var session = new PeerSession(channel, peerId, _router, _observers, _options, _loggerFactory.CreateLogger<PeerSession>());
        Volatile.Write(ref _current, session);
        await session.StartAsync(cancellationToken).ConfigureAwait(false);
        var running = Task.Run(async () =>
        {
            try
            {
                await session.RunAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                Interlocked.CompareExchange(ref _current, null, session);
            }
        }, CancellationToken.None);
        return (session, running);
    }
}
