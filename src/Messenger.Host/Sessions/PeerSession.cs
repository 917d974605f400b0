using System.Threading.Channels;
using MessagePack;
using Messenger.Contracts.Channels;
using Messenger.Contracts.Framing;
using Messenger.Host.Chat;
using Messenger.Host.Framing;
using Microsoft.Extensions.Logging;

namespace Messenger.Host.Sessions;

/// <summary>
/// One live session with the peer: reads frames from the data channel and routes them to their handlers, and
/// writes frames through the send scheduler. Ends when the channel closes.
/// </summary>
/// <remarks>
/// Each handler has an inbox of its own, served by its own task: a handler sees its frames one at a time and in
/// order, and a slow one (a file being written) never delays another's (chat). A frame waiting in an inbox keeps its
/// transport buffer, and with it its share of the SCTP receive window, until its handler is done: a handler that falls
/// behind slows the peer's sending through the window, and nothing is dropped. An inbox holds at most
/// <see cref="FramingOptions.HandlerQueueCapacity"/> frames and <see cref="FramingOptions.HandlerQueueBytes"/> bytes;
/// at that bound the receive loop waits, for every handler (over our transport, whose window is smaller, only a flood
/// of tiny frames gets there; a channel without such a window, like the in-memory one of the tests, is held here).
/// </remarks>
public sealed partial class PeerSession : IPeerSession, IAsyncDisposable
{
    private readonly Messenger.Shared.Logging.LogBudget _logBudget = new(TimeProvider.System);
    private readonly IDataChannel _channel;
    private readonly FrameRouter _router;
    private readonly IReadOnlyList<IPeerSessionObserver> _observers;
    private readonly ILogger _logger;
    private readonly SendScheduler _scheduler;
    private readonly CancellationTokenSource _ended = new();
    private readonly int _maxReceivedFrameSize;
    private readonly int _handlerQueueCapacity;
    private readonly long _handlerQueueBytes;
    private readonly int _maxMalformed;
    private int _closing;

    // One inbox per handler, made at its first frame; touched only by the receive loop (RunAsync).
    private readonly Dictionary<IFrameHandler, HandlerInbox> _inboxes = [];

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
        _scheduler = new SendScheduler(channel, options, TimeProvider.System);
        // The channel's MaxMessageSize is the peer's limit for what we send; what we accept is our own (the transport
        // already enforces the max-message-size we advertised).
        _maxReceivedFrameSize = options.MaxReceivedFrameSize;
        _handlerQueueCapacity = options.HandlerQueueCapacity;
        _handlerQueueBytes = options.HandlerQueueBytes;
        _maxMalformed = options.MaxMalformedFramesPerSession;
        MaxFrameBodySize = channel.MaxMessageSize - FrameCodec.MaxHeaderSize;
    }

    /// <summary>Why this side closed the session (<see cref="CloseAsync"/>), or null.</summary>
    public string? CloseReason { get; private set; }

    /// <summary>Why the peer closed the session, as it said in its session-close frame (cleaned, at most 500 characters), or null.</summary>
    public string? RemoteCloseReason { get; private set; }

    /// <summary>
    /// Tells the peer <paramref name="reason"/> in a session-close frame (waiting at most 2 s for it to leave), then
    /// closes the channel; the session ends once the frames already received are handled. Safe to call from a frame
    /// handler of this session, and more than once (the first reason counts).
    /// </summary>
    /// <param name="reason">One sentence for both users.</param>
    /// <returns>A task that completes once the channel is closing.</returns>
    public async ValueTask CloseAsync(string reason)
    {
        ArgumentNullException.ThrowIfNull(reason);
        if (Interlocked.Exchange(ref _closing, 1) != 0 || _ended.IsCancellationRequested)
        {
            return;
        }

        CloseReason = reason;
        LogClosing(PeerId, reason);
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(2), TimeProvider.System);
        try
        {
            var body = MessagePackSerializer.Serialize(new SessionCloseFrame { Reason = reason.Length > 500 ? reason[..500] : reason }, UntrustedMessagePack.Options, CancellationToken.None);
            await _scheduler.SendInteractiveAsync(HostFrameKinds.SessionClose, body, limit.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or DataChannelClosedException or ObjectDisposedException)
        {
            // The peer is gone or not reading: closing is all that is left.
        }

        try
        {
            await _channel.CloseAsync(limit.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or DataChannelClosedException or ObjectDisposedException)
        {
            // Already closed or closing.
        }
    }

    /// <summary>The buffered amount the send scheduler writes bulk up to now (it follows the send rate).</summary>
    internal long BulkThreshold => _scheduler.BulkThreshold;

    /// <summary>Raised when a received message is dropped, with the reason.</summary>
    public event EventHandler<FrameRejection>? FrameRejected;

    /// <inheritdoc />
    public string SessionId { get; } = Guid.NewGuid().ToString("n");

    /// <inheritdoc />
    public string PeerId { get; }

    /// <inheritdoc />
    public int MaxFrameBodySize { get; }

    /// <inheritdoc />
    public long BulkBytesPerSecond => _scheduler.BulkRate;

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
                var routed = false;
                try
                {
                    routed = await RouteAsync(message, linked.Token).ConfigureAwait(false);
                }
                finally
                {
                    if (!routed)
                    {
                        message.Release(); // dropped, or not queued: the transport may reuse its buffer
                    }
                }
            }
        }
        catch (OperationCanceledException) when (linked.IsCancellationRequested)
        {
            // Ended from outside: fall through to the orderly end.
        }
        finally
        {
            // Frames already received are handled before the session ends (the last chunks and a transfer's End),
            // unless the session was ended from outside, which cancels the handlers too.
            foreach (var inbox in _inboxes.Values)
            {
                inbox.Queue.Writer.TryComplete();
            }

            try
            {
                await Task.WhenAll(_inboxes.Values.Select(i => i.Pump)).ConfigureAwait(false);
            }
            finally
            {
                await EndAsync().ConfigureAwait(false);
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await EndAsync().ConfigureAwait(false);
        _ended.Dispose();
    }

    /// <summary>Decodes one message and queues it for its handler; false when it was dropped (the caller releases it).</summary>
    private async ValueTask<bool> RouteAsync(DataChannelMessage message, CancellationToken cancellationToken)
    {
        Statistics.OnReceived();
        if (message.IsText)
        {
            Reject(FrameRejectionReason.Malformed, null, "a text message is not a frame; frames are binary");
            return false;
        }

        if (!FrameCodec.TryDecode(message.Data, _maxReceivedFrameSize, out var kind, out var body, out var error))
        {
            Reject(FrameRejectionReason.Malformed, null, error!);
            return false;
        }

        if (kind == HostFrameKinds.SessionClose)
        {
            OnPeerClosing(body);
            return false;
        }

        if (!_router.TryGetHandler(kind, out var handler))
        {
            Reject(FrameRejectionReason.UnknownKind, kind.Value, $"no handler owns frame kind {kind}");
            return false;
        }

        if (!_inboxes.TryGetValue(handler, out var inbox))
        {
            var queue = Channel.CreateUnbounded<Inbound>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
            var budget = new InboxBudget(_handlerQueueBytes, _handlerQueueCapacity);
            inbox = new HandlerInbox(queue, budget, Task.Run(() => PumpAsync(handler, queue.Reader, budget, cancellationToken), CancellationToken.None));
            _inboxes[handler] = inbox;
        }

        // Waits only while this handler's inbox is full (see the remarks); the queue itself never refuses.
        await inbox.Budget.TakeAsync(message.Data.Length, cancellationToken).ConfigureAwait(false);
        inbox.Queue.Writer.TryWrite(new Inbound(kind, body, message));
        return true;
    }

    /// <summary>Runs one handler's frames in order; each frame's buffer goes back to the transport once handled.</summary>
    private async Task PumpAsync(IFrameHandler handler, ChannelReader<Inbound> inbox, InboxBudget budget, CancellationToken cancellationToken)
    {
        try
        {
            while (await inbox.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (inbox.TryRead(out var frame))
                {
                    try
                    {
                        await HandleAsync(handler, frame.Kind, frame.Body, cancellationToken).ConfigureAwait(false);
                    }
                    finally
                    {
                        budget.Give(frame.Message.Data.Length);
                        frame.Message.Release();
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Ended from outside: what is still queued is released unhandled.
            while (inbox.TryRead(out var left))
            {
                left.Message.Release();
            }
        }
    }

    private async Task HandleAsync(IFrameHandler handler, FrameKind kind, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
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
            // A plugin's bug must not end the chat: log it with the plugin's name (within the budget: a peer that can
            // trigger it must not flood the log), count it, keep the session.
            if (_logBudget.TryTake(out var leftOut))
            {
                if (leftOut > 0)
                {
                    LogFramesNotLogged(leftOut);
                }

                LogHandlerFailed(handler.Name, kind.Value, ex);
            }

            Statistics.OnHandlerFailed();
            FrameRejected?.Invoke(this, new FrameRejection(FrameRejectionReason.HandlerFailed, kind.Value, ex.Message));
        }
    }

    private void OnPeerClosing(ReadOnlyMemory<byte> body)
    {
        string reason;
        try
        {
            reason = MessagePackSerializer.Deserialize<SessionCloseFrame>(body, UntrustedMessagePack.Options).Reason ?? "";
        }
        catch (MessagePackSerializationException)
        {
            reason = "";
        }

        // Shown to a person: no control or format characters, bounded.
        var clean = new string(reason.Take(500).Select(c => char.IsControl(c) || char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.Format ? '\uFFFD' : c).ToArray());
        RemoteCloseReason ??= clean.Length == 0 ? "no reason given" : clean;
        LogPeerClosing(PeerId, RemoteCloseReason);
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
            if (Statistics.Malformed > _maxMalformed)
            {
                _ = CloseAsync($"the peer sent more than {_maxMalformed} malformed frames").AsTask();
            }
        }

        // Counted always (Statistics); logged within a budget, so a peer sending garbage cannot flood the log.
        if (_logBudget.TryTake(out var leftOut))
        {
            if (leftOut > 0)
            {
                LogFramesNotLogged(leftOut);
            }

            LogFrameDropped(reason, message);
        }

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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dropped {Count} more received frames without logging each (at most 10 lines per 10 s per session; Statistics counts them all)")]
    private partial void LogFramesNotLogged(long count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dropped a received frame ({Reason}): {Detail}")]
    private partial void LogFrameDropped(FrameRejectionReason reason, string detail);

    [LoggerMessage(Level = LogLevel.Error, Message = "Frame handler '{Handler}' failed on a kind {Kind} frame")]
    private partial void LogHandlerFailed(string handler, int kind, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Closing the session with {PeerId}: {Reason}")]
    private partial void LogClosing(string peerId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The peer {PeerId} is closing the session: {Reason}")]
    private partial void LogPeerClosing(string peerId, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Session observer {Observer} failed when the session ended")]
    private partial void LogObserverFailed(string observer, Exception exception);

    private readonly record struct Inbound(FrameKind Kind, ReadOnlyMemory<byte> Body, DataChannelMessage Message);

    private sealed record HandlerInbox(Channel<Inbound> Queue, InboxBudget Budget, Task Pump);

    /// <summary>What one inbox may hold, in frames and bytes; one writer waits for room, one reader gives it back.</summary>
    private sealed class InboxBudget(long maxBytes, int maxFrames)
    {
        private readonly Lock _gate = new();
        private long _bytes;
        private int _frames;
        private TaskCompletionSource? _room;

        /// <summary>Takes room for one frame of <paramref name="bytes"/>; an empty inbox takes any one frame.</summary>
        public async ValueTask TakeAsync(int bytes, CancellationToken cancellationToken)
        {
            while (true)
            {
                Task room;
                lock (_gate)
                {
                    if (_frames == 0 || (_frames < maxFrames && _bytes + bytes <= maxBytes))
                    {
                        _frames++;
                        _bytes += bytes;
                        return;
                    }

                    _room ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    room = _room.Task;
                }

                await room.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        public void Give(int bytes)
        {
            TaskCompletionSource? room;
            lock (_gate)
            {
                _frames--;
                _bytes -= bytes;
                room = _room;
                _room = null;
            }

            room?.TrySetResult();
        }
    }

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
