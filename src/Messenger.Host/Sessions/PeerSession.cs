using Messenger.Contracts.Channels;
using Messenger.Contracts.Framing;
using Messenger.Host.Framing;
using Microsoft.Extensions.Logging;

namespace Messenger.Host.Sessions;

/// <summary>
/// One live session with the peer: reads frames from the data channel and routes them to their handlers, and
/// writes frames through the send scheduler. Ends when the channel closes.
/// </summary>
public sealed partial class PeerSession : IPeerSession, IAsyncDisposable
{
    private readonly IDataChannel _channel;
    private readonly FrameRouter _router;
    private readonly IReadOnlyList<IPeerSessionObserver> _observers;
    private readonly ILogger _logger;
    private readonly SendScheduler _scheduler;
    private readonly CancellationTokenSource _ended = new();
    private readonly int _maxReceivedFrameSize;

    internal PeerSession(
        IDataChannel channel,
        string peerId,
        FrameRouter router,
        IReadOnlyList<IPeerSessionObserver> observers,
        FramingOptions options,
        ILogger logger)
    {
        _channel = channel;
        _router = router;
        _observers = observers;
        _logger = logger;
        PeerId = peerId;
        _scheduler = new SendScheduler(channel, options.BulkBufferThreshold);
        // The channel's MaxMessageSize is the peer's limit for what we send; what we accept is our own (the transport
        // already enforces the max-message-size we advertised).
        _maxReceivedFrameSize = options.MaxReceivedFrameSize;
        MaxFrameBodySize = channel.MaxMessageSize - FrameCodec.MaxHeaderSize;
    }

    /// <summary>Raised when a received message is dropped, with the reason.</summary>
    public event EventHandler<FrameRejection>? FrameRejected;

    /// <inheritdoc />
    public string SessionId { get; } = Guid.NewGuid().ToString("n");

    /// <inheritdoc />
    public string PeerId { get; }

    /// <inheritdoc />
    public int MaxFrameBodySize { get; }

    /// <inheritdoc />
    public CancellationToken Ended => _ended.Token;

    /// <summary>What this session received and dropped.</summary>
    public FrameStatistics Statistics { get; } = new();

    /// <summary>What this session's scheduler wrote.</summary>
    public SchedulerCounters SendCounters => _scheduler.Counters;

    /// <inheritdoc />
    public ValueTask SendAsync(FrameKind kind, ReadOnlyMemory<byte> body, CancellationToken cancellationToken = default)
    {
        CheckBody(body);
        return _scheduler.SendInteractiveAsync(kind, body, cancellationToken);
    }

    /// <inheritdoc />
    public IBulkLane OpenBulkLane(string name)
    {
        var lane = _scheduler.OpenLane(name);
        return new CheckedLane(this, lane);
    }

    /// <summary>Tells the observers the session started; frames are routed only after this.</summary>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>A task that completes when every observer was told.</returns>
    internal async Task StartAsync(CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _ended.Token);
        foreach (var observer in _observers)
        {
            await observer.OnSessionStartedAsync(this, linked.Token).ConfigureAwait(false);
        }
    }

    /// <summary>Routes received frames until the channel closes, then ends the session and tells the observers.</summary>
    /// <param name="cancellationToken">Ends the session early (the channel is left open).</param>
    /// <returns>A task that completes when the session has ended.</returns>
    internal async Task RunAsync(CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _ended.Token);
        try
        {
            await foreach (var message in _channel.ReceiveAllAsync(linked.Token).ConfigureAwait(false))
            {
                try
                {
                    await DispatchAsync(message, linked.Token).ConfigureAwait(false);
                }
                finally
                {
                    // The handler is done with the body: the transport may reuse its buffer.
                    message.Release();
                }
            }
        }
        catch (OperationCanceledException) when (linked.IsCancellationRequested)
        {
            // Ended from outside: fall through to the orderly end.
        }
        finally
        {
            await EndAsync().ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await EndAsync().ConfigureAwait(false);
        _ended.Dispose();
    }

    private async Task DispatchAsync(DataChannelMessage message, CancellationToken cancellationToken)
    {
        Statistics.OnReceived();
        if (message.IsText)
        {
            Reject(FrameRejectionReason.Malformed, null, "a text message is not a frame; frames are binary");
            return;
        }

        if (!FrameCodec.TryDecode(message.Data, _maxReceivedFrameSize, out var kind, out var body, out var error))
        {
            Reject(FrameRejectionReason.Malformed, null, error!);
            return;
        }

        if (!_router.TryGetHandler(kind, out var handler))
        {
            Reject(FrameRejectionReason.UnknownKind, kind.Value, $"no handler owns frame kind {kind}");
            return;
        }

        try
        {
            await handler.HandleFrameAsync(this, kind, body, cancellationToken).ConfigureAwait(false);
            Statistics.OnDelivered();
        }
        catch (FrameFormatException ex)
        {
            Reject(FrameRejectionReason.Malformed, kind.Value, $"'{handler.Name}' rejected a kind {kind} frame: {ex.Message}");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A plugin's bug must not end the chat: log it with the plugin's name, count it, keep the session.
            LogHandlerFailed(handler.Name, kind.Value, ex);
            Statistics.OnHandlerFailed();
            FrameRejected?.Invoke(this, new FrameRejection(FrameRejectionReason.HandlerFailed, kind.Value, ex.Message));
        }
    }

    private void Reject(FrameRejectionReason reason, int? kind, string message)
    {
        if (reason == FrameRejectionReason.UnknownKind)
        {
            Statistics.OnUnknownKind();
        }
        else
        {
            Statistics.OnMalformed();
        }

        LogFrameDropped(reason, message);
        FrameRejected?.Invoke(this, new FrameRejection(reason, kind, message));
    }

    private async Task EndAsync()
    {
        if (_ended.IsCancellationRequested)
        {
            return;
        }

        await _ended.CancelAsync().ConfigureAwait(false);
        await _scheduler.DisposeAsync().ConfigureAwait(false);
        foreach (var observer in _observers)
        {
            try
            {
                await observer.OnSessionEndedAsync(this).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogObserverFailed(observer.GetType().Name, ex);
            }
        }
    }

    private void CheckBody(ReadOnlyMemory<byte> body)
    {
        if (body.Length > MaxFrameBodySize)
        {
            throw new ArgumentException($"The frame body is {body.Length} bytes; this session carries at most {MaxFrameBodySize}.", nameof(body));
        }

        if (!MessagePackShape.IsSingleObject(body, out var error))
        {
            throw new ArgumentException($"A frame body must be exactly one MessagePack object: {error}.", nameof(body));
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dropped a received frame ({Reason}): {Detail}")]
    private partial void LogFrameDropped(FrameRejectionReason reason, string detail);

    [LoggerMessage(Level = LogLevel.Error, Message = "Frame handler '{Handler}' failed on a kind {Kind} frame")]
    private partial void LogHandlerFailed(string handler, int kind, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Session observer {Observer} failed when the session ended")]
    private partial void LogObserverFailed(string observer, Exception exception);

    /// <summary>Checks bodies before they reach the scheduler, as <see cref="SendAsync"/> does.</summary>
    private sealed class CheckedLane(PeerSession session, IBulkLane inner) : IBulkLane
    {
        public string Name => inner.Name;

        public ValueTask SendAsync(FrameKind kind, ReadOnlyMemory<byte> body, CancellationToken cancellationToken = default)
        {
            session.CheckBody(body);
            return inner.SendAsync(kind, body, cancellationToken);
        }

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
