using System.Buffers;
using System.Threading.Channels;
using Messenger.Transport.Sctp;

namespace Messenger.Transport.DataChannels;

/// <summary>Where the connection's outgoing SCTP packets go (DTLS, UDP, or a test link). Copy the span to keep it.</summary>
public delegate void SctpPacketSink(ReadOnlySpan<byte> packet);

/// <summary>Settings of a <see cref="DataChannelConnection"/>.</summary>
public sealed record DataChannelConnectionOptions
{
    /// <summary>The association's settings; <see cref="SctpAssociationOptions.ForDataChannels"/> unless set.</summary>
    public SctpAssociationOptions Sctp { get; init; } = SctpAssociationOptions.ForDataChannels;

    /// <summary>RFC 8832 §6: the DTLS client opens even stream ids, the server odd ones.</summary>
    public bool IsDtlsClient { get; init; }

    /// <summary>The peer's a=max-message-size; 65536 when its SDP omits it, as Chrome's answer does (RFC 8841 §6.1).</summary>
    public int RemoteMaxMessageSize { get; init; } = 65536;

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Called on the loop thread before it sends what one turn produced, so the path below can batch.</summary>
    public Action? BeginSendBatch { get; init; }

    /// <summary>Called on the loop thread after it sent what one turn produced: the batch goes out.</summary>
    public Action? EndSendBatch { get; init; }
}

/// <summary>
/// The event loop of one SCTP association and its data channels over any packet sink (a test link, plain UDP, a
/// <see cref="Dtls.DtlsConnection"/>): every packet, timer tick and user call is posted to one queue and handled by
/// one consumer, so the association stays a single-threaded pure state machine. A peer connection does not use it:
/// its own loop drives the association together with ICE and DTLS.
/// </summary>
public sealed class DataChannelConnection : IAsyncDisposable, IDataChannelLoop
{
    private readonly SctpAssociation _association;
    private readonly DataChannelSet _set;
    private readonly SctpPacketSink _sink;
    private readonly DataChannelConnectionOptions _options;
    private readonly TimeProvider _time;
    private readonly long _epoch;
    private readonly Channel<LoopWork> _work = Channel.CreateUnbounded<LoopWork>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ITimer _timer;
    private readonly byte[] _packetBuffer;
    private readonly Task _loop;
    private TimeSpan _scheduled = TimeSpan.MaxValue;
    private long _consumedPending;

    private bool _aborted; // on the loop only

    public DataChannelConnection(DataChannelConnectionOptions options, SctpPacketSink sink)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(sink);
        _options = options;
        _sink = sink;
        _time = options.TimeProvider;
        _epoch = _time.GetTimestamp();
        _association = new SctpAssociation(options.Sctp);
        _set = new DataChannelSet(_association, this, options.IsDtlsClient, options.RemoteMaxMessageSize, options.Sctp.Streams);
        _packetBuffer = new byte[options.Sctp.Mtu];
        _timer = _time.CreateTimer(static state => ((DataChannelConnection)state!).Post(new LoopWork(WorkKind.Timer)), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Completes when the SCTP association is established; faults if it fails first.</summary>
    public Task Connected => _set.Connected;

    /// <summary>Completes when the association has ended, gracefully or not.</summary>
    public Task Closed => _set.Closed;

    /// <summary>Why the association was aborted (by either side), or null.</summary>
    public string? AbortReason => _set.AbortReason;

    /// <summary>Channels the peer opened, in the order their DATA_CHANNEL_OPEN arrived.</summary>
    public ChannelReader<SctpDataChannel> RemoteChannels => _set.RemoteChannels;

    private TimeSpan Now => _time.GetElapsedTime(_epoch);

    /// <summary>Channels not yet fully closed; a closed channel's stream id is free again.</summary>
    internal int OpenChannelCount => _set.Count;

    /// <summary>Congestion window, retransmitted chunks and T3 expiries of the association, read racily (for measurements).</summary>
    internal (long CongestionWindow, long RetransmittedChunks, long RetransmissionTimeouts) SenderStatistics =>
        (_association.CongestionWindow, _association.RetransmittedChunks, _association.RetransmissionTimeouts);

    /// <summary>Starts the SCTP handshake. Both peers may call it; INIT collision is handled (RFC 9260 §5.2.1).</summary>
    public void Start() => Post(new LoopWork(WorkKind.Start));

    /// <summary>Feeds one received SCTP packet; safe from any thread. The bytes are copied.</summary>
    public void ReceivePacket(ReadOnlySpan<byte> packet)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(packet.Length);
        packet.CopyTo(buffer);
        if (!_work.Writer.TryWrite(new LoopWork(WorkKind.Packet, buffer, packet.Length)))
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Opens a channel with DCEP (RFC 8832); it turns Open when the peer's DATA_CHANNEL_ACK arrives.</summary>
    public SctpDataChannel CreateChannel(string label, DataChannelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(label);
        var channel = _set.Create(label, options ?? new DataChannelOptions());
        PostOpen(channel);
        return channel;
    }

    /// <summary>Waits for the next channel the peer opens.</summary>
    public ValueTask<SctpDataChannel> AcceptChannelAsync(CancellationToken cancellationToken = default) =>
        _set.RemoteChannels.ReadAsync(cancellationToken);

    /// <summary>Shuts the association down gracefully (RFC 9260 §9.2) and waits until it is closed.</summary>
    public async Task CloseAsync(CancellationToken cancellationToken = default)
    {
        Post(new LoopWork(WorkKind.Shutdown));
        await _set.Closed.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Ends the association at once (an ABORT, no graceful shutdown) and closes every channel: for a path that is
    /// gone, where a SHUTDOWN would only wait for acknowledgements that cannot come.
    /// </summary>
    public void Abort() => Post(new LoopWork(WorkKind.Abort));

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await CloseAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Post(new LoopWork(WorkKind.Abort));
        }

        _work.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
        await _timer.DisposeAsync().ConfigureAwait(false);
    }

    void IDataChannelLoop.PostSend(SctpDataChannel channel, uint ppid, OutboundPayload payload)
    {
        if (!_work.Writer.TryWrite(new LoopWork(WorkKind.Send, Channel: channel, Ppid: ppid, Payload: payload)))
        {
            payload.Release();
        }
    }

    public void PostOpen(SctpDataChannel channel) => Post(new LoopWork(WorkKind.Open, Channel: channel));

    void IDataChannelLoop.PostClose(SctpDataChannel channel) => Post(new LoopWork(WorkKind.Close, Channel: channel));

    /// <summary>Called from any thread as the application reads; batched into one loop item at a time.</summary>
    void IDataChannelLoop.ReportConsumed(long bytes)
    {
        if (Interlocked.Add(ref _consumedPending, bytes) == bytes)
        {
            Post(new LoopWork(WorkKind.Consumed));
        }
    }

    private void Post(LoopWork work) => _work.Writer.TryWrite(work);

    private async Task RunAsync()
    {
        var reader = _work.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            // Handle what has queued up, then send once: packets get bundled and SACKs cover the whole batch.
            var now = Now;
            for (var handled = 0; handled < 256 && reader.TryRead(out var work); handled++)
            {
                Handle(work, now);
            }

            Drain(now);
        }
    }

    private void Handle(LoopWork work, TimeSpan now)
    {
        switch (work.Kind)
        {
            case WorkKind.Packet:
                _association.HandlePacket(work.Buffer.AsSpan(0, work.Length), now);
                ArrayPool<byte>.Shared.Return(work.Buffer!);
                break;
            case WorkKind.Timer:
                _scheduled = TimeSpan.MaxValue;
                _association.HandleTimeout(now);
                break;
            case WorkKind.Start:
                if (_association.State == SctpAssociationState.Closed && !_aborted)
                {
                    _association.Connect(now);
                }

                break;
            case WorkKind.Send:
                _set.Send(work.Channel!, work.Ppid, work.Payload, now);
                break;
            case WorkKind.Open:
                _set.Open(work.Channel!, now);
                break;
            case WorkKind.Close:
                _set.Close(work.Channel!);
                break;
            case WorkKind.Shutdown:
                if (_association.State is SctpAssociationState.Established)
                {
                    _association.Shutdown(now);
                }
                else if (_association.State is SctpAssociationState.CookieWait or SctpAssociationState.CookieEchoed)
                {
                    _association.Abort("Closed before the association was established.");
                }
                else if (_association.State == SctpAssociationState.Closed)
                {
                    OnEnded(null);
                }

                break;
            case WorkKind.Consumed:
                _association.MarkConsumed(Interlocked.Exchange(ref _consumedPending, 0));
                break;
            case WorkKind.Abort:
                _aborted = true; // a Start still in the queue must not bring the association back
                if (_association.State == SctpAssociationState.Closed)
                {
                    // Never started (the failure came before DTLS): no association to abort, but the channels
                    // created meanwhile wait for an open that cannot come.
                    OnEnded("The connection was aborted before it was established.");
                }
                else
                {
                    _association.Abort("The connection was aborted.");
                }

                break;
            default:
                break;
        }
    }

    private void Drain(TimeSpan now)
    {
        _options.BeginSendBatch?.Invoke();
        try
        {
            while (true)
            {
                while (_association.TryPollEvent(out var e))
                {
                    if (e.Kind is SctpEventKind.Closed or SctpEventKind.Aborted)
                    {
                        OnEnded(e.Kind == SctpEventKind.Aborted ? e.Reason : null);
                    }
                    else
                    {
                        _set.OnEvent(e, now);
                    }
                }

                var length = _association.PollPacket(_packetBuffer, now);
                if (length == 0)
                {
                    break;
                }

                _sink(_packetBuffer.AsSpan(0, length));
            }
        }
        finally
        {
            _options.EndSendBatch?.Invoke();
        }

        var deadline = _association.NextDeadline;
        if (deadline != _scheduled)
        {
            _scheduled = deadline;
            if (deadline == TimeSpan.MaxValue)
            {
                _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            }
            else
            {
                var delay = deadline - Now;
                _timer.Change(delay < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : delay, Timeout.InfiniteTimeSpan);
            }
        }
    }

    private void OnEnded(string? abortReason)
    {
        _set.RecordAbort(abortReason);
        _set.OnAssociationEnded(abortReason);
        _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _scheduled = TimeSpan.MaxValue;
    }

    private enum WorkKind
    {
        Packet,
        Timer,
        Start,
        Send,
        Open,
        Close,
        Shutdown,
        Abort,
        Consumed,
    }

    private readonly record struct LoopWork(WorkKind Kind, byte[]? Buffer = null, int Length = 0, SctpDataChannel? Channel = null, uint Ppid = 0, OutboundPayload Payload = default);
}
