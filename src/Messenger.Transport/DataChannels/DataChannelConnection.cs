using System.Buffers;
using System.Threading.Channels;
using Messenger.Contracts.Channels;
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
/// The event loop of one SCTP association and its data channels: every packet, timer tick and user call is posted
/// to one queue and handled by one consumer, so the association stays a single-threaded pure state machine.
/// </summary>
public sealed class DataChannelConnection : IAsyncDisposable
{
    private readonly SctpAssociation _association;
    private readonly SctpPacketSink _sink;
    private readonly DataChannelConnectionOptions _options;
    private readonly TimeProvider _time;
    private readonly long _epoch;
    private readonly Channel<LoopWork> _work = Channel.CreateUnbounded<LoopWork>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Channel<SctpDataChannel> _remoteChannels = Channel.CreateUnbounded<SctpDataChannel>();
    private readonly Dictionary<ushort, SctpDataChannel> _channels = [];
    private readonly Dictionary<ushort, long> _controlBytes = [];
    private readonly Lock _channelsGate = new();
    private readonly ITimer _timer;
    private readonly byte[] _packetBuffer;
    private readonly TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _loop;
    private TimeSpan _scheduled = TimeSpan.MaxValue;
    private int _nextStreamId;
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
        _packetBuffer = new byte[options.Sctp.Mtu];
        _nextStreamId = options.IsDtlsClient ? 0 : 1;
        _timer = _time.CreateTimer(static state => ((DataChannelConnection)state!).Post(new LoopWork(WorkKind.Timer)), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Completes when the SCTP association is established; faults if it fails first.</summary>
    public Task Connected => _connected.Task;

    /// <summary>Completes when the association has ended, gracefully or not.</summary>
    public Task Closed => _closed.Task;

    /// <summary>Channels the peer opened, in the order their DATA_CHANNEL_OPEN arrived.</summary>
    public ChannelReader<SctpDataChannel> RemoteChannels => _remoteChannels.Reader;

    private TimeSpan Now => _time.GetElapsedTime(_epoch);

    /// <summary>Channels not yet fully closed; a closed channel's stream id is free again.</summary>
    internal int OpenChannelCount
    {
        get
        {
            lock (_channelsGate)
            {
                return _channels.Count;
            }
        }
    }

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
        options ??= new DataChannelOptions();
        if (options.MaxRetransmits is not null && options.MaxPacketLifeTime is not null)
        {
            throw new ArgumentException("A channel limits retransmits or lifetime, not both (RFC 8832 §5.1).", nameof(options));
        }

        SctpDataChannel channel;
        lock (_channelsGate)
        {
            var id = -1;
            for (var candidate = _nextStreamId; candidate < _options.Sctp.Streams; candidate += 2)
            {
                if (!_channels.ContainsKey((ushort)candidate))
                {
                    id = candidate;
                    break;
                }
            }

            if (id < 0)
            {
                throw new InvalidOperationException("Every stream id of our parity is in use.");
            }

            _nextStreamId = id + 2;
            channel = new SctpDataChannel(this, (ushort)id, label, options, _options.RemoteMaxMessageSize);
            _channels[(ushort)id] = channel;
        }

        Post(new LoopWork(WorkKind.Open, Channel: channel));
        return channel;
    }

    /// <summary>Waits for the next channel the peer opens.</summary>
    public ValueTask<SctpDataChannel> AcceptChannelAsync(CancellationToken cancellationToken = default) =>
        _remoteChannels.Reader.ReadAsync(cancellationToken);

    /// <summary>Shuts the association down gracefully (RFC 9260 §9.2) and waits until it is closed.</summary>
    public async Task CloseAsync(CancellationToken cancellationToken = default)
    {
        Post(new LoopWork(WorkKind.Shutdown));
        await _closed.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
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

    internal void PostSend(SctpDataChannel channel, uint ppid, byte[] payload) =>
        Post(new LoopWork(WorkKind.Send, payload, payload.Length, channel, ppid));

    internal void PostClose(SctpDataChannel channel) => Post(new LoopWork(WorkKind.Close, Channel: channel));

    /// <summary>Called from any thread as the application reads; batched into one loop item at a time.</summary>
    internal void ReportConsumed(long bytes)
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
                SendOnLoop(work.Channel!, work.Ppid, work.Buffer!, now);
                break;
            case WorkKind.Open:
                var open = work.Channel!.Options;
                var type = (open.MaxRetransmits, open.MaxPacketLifeTime) switch
                {
                    (not null, _) => DataChannelType.PartialReliableRexmit,
                    (_, not null) => DataChannelType.PartialReliableTimed,
                    _ => DataChannelType.Reliable,
                };
                var reliability = (uint)(open.MaxRetransmits ?? (int)(open.MaxPacketLifeTime?.TotalMilliseconds ?? 0));
                var message = new DcepOpen(open.Ordered ? type : (DataChannelType)((byte)type | 0x80), open.Priority, reliability, work.Channel.Label, open.Protocol);
                SendControl(work.Channel.StreamId, message.Serialize(), now);
                break;
            case WorkKind.Close:
                BeginClose(work.Channel!);
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
                    OnAssociationEnded(null);
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
                    OnAssociationEnded("The connection was aborted before it was established.");
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

    private void SendOnLoop(SctpDataChannel channel, uint ppid, byte[] payload, TimeSpan now)
    {
        try
        {
            _association.Send(channel.StreamId, ppid, payload, channel.SendOptions, now);
        }
        catch (InvalidOperationException)
        {
            // The association is going away; the message is dropped and no longer counts as buffered.
            channel.OnBytesSent(payload.Length);
        }
    }

    private void SendControl(ushort streamId, byte[] message, TimeSpan now)
    {
        // RFC 8832 §6: DCEP messages travel reliably and in order on the channel's own stream.
        _controlBytes[streamId] = _controlBytes.GetValueOrDefault(streamId) + message.Length;
        try
        {
            _association.Send(streamId, DataChannelPpid.Dcep, message, default, now);
        }
        catch (InvalidOperationException)
        {
            _controlBytes.Remove(streamId);
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
                    OnEvent(e, now);
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

    private SctpDataChannel? Find(ushort streamId)
    {
        lock (_channelsGate)
        {
            return _channels.GetValueOrDefault(streamId);
        }
    }

    private void OnEvent(SctpEvent e, TimeSpan now)
    {
        switch (e.Kind)
        {
            case SctpEventKind.Connected:
                _connected.TrySetResult();
                break;
            case SctpEventKind.MessageReceived:
                OnMessage(e.StreamId, e.PayloadProtocolId, e.Data!, now);
                break;
            case SctpEventKind.BufferedAmountDecreased:
                var bytes = e.Bytes;
                if (_controlBytes.TryGetValue(e.StreamId, out var control))
                {
                    var consumed = Math.Min(control, bytes);
                    bytes -= consumed;
                    if (control == consumed)
                    {
                        _controlBytes.Remove(e.StreamId);
                    }
                    else
                    {
                        _controlBytes[e.StreamId] = control - consumed;
                    }
                }

                if (bytes > 0)
                {
                    Find(e.StreamId)?.OnBytesSent(bytes);
                }

                break;
            case SctpEventKind.IncomingStreamsReset:
                foreach (var id in e.Streams!)
                {
                    if (Find(id) is { } channel)
                    {
                        // RFC 8831 §6.7: the peer closed its half; close ours too.
                        channel.IncomingResetDone = true;
                        channel.TrySetState(DataChannelState.Open, DataChannelState.Closing);
                        channel.TrySetState(DataChannelState.Connecting, DataChannelState.Closing);
                        BeginClose(channel);
                        FinishCloseIfDone(channel);
                    }
                }

                break;
            case SctpEventKind.OutgoingStreamsReset:
                foreach (var id in e.Streams!)
                {
                    if (Find(id) is { } channel)
                    {
                        channel.OutgoingResetDone = true;
                        FinishCloseIfDone(channel);
                    }
                }

                break;
            case SctpEventKind.Closed or SctpEventKind.Aborted:
                OnAssociationEnded(e.Kind == SctpEventKind.Aborted ? e.Reason : null);
                break;
            default:
                break;
        }
    }

    private void OnMessage(ushort streamId, uint ppid, byte[] data, TimeSpan now)
    {
        var channel = Find(streamId);
        var isUserData = ppid is DataChannelPpid.String or DataChannelPpid.Binary or DataChannelPpid.StringEmpty or DataChannelPpid.BinaryEmpty;
        if (!isUserData || channel is null || channel.State == DataChannelState.Closed)
        {
            // Only messages queued for a reader hold the receive window; everything else is consumed here.
            _association.MarkConsumed(data.Length);
        }

        switch (ppid)
        {
            case DataChannelPpid.Dcep when data.Length > 0 && data[0] == DcepOpen.MessageType:
                OnOpenRequest(streamId, data, now);
                return;
            case DataChannelPpid.Dcep when data.Length == 1 && data[0] == DcepOpen.AckMessageType:
                channel?.TrySetState(DataChannelState.Connecting, DataChannelState.Open);
                return;
            case DataChannelPpid.String or DataChannelPpid.Binary or DataChannelPpid.StringEmpty or DataChannelPpid.BinaryEmpty:
                if (channel is null || channel.State == DataChannelState.Closed)
                {
                    return;
                }

                // RFC 8832 §6: user data before the ACK means the peer got our OPEN.
                channel.TrySetState(DataChannelState.Connecting, DataChannelState.Open);
                var empty = ppid is DataChannelPpid.StringEmpty or DataChannelPpid.BinaryEmpty;
                channel.Deliver(new DataChannelMessage(empty ? ReadOnlyMemory<byte>.Empty : data, ppid is DataChannelPpid.String or DataChannelPpid.StringEmpty));
                return;
            default:
                return;
        }
    }

    private void OnOpenRequest(ushort streamId, byte[] data, TimeSpan now)
    {
        DcepOpen open;
        try
        {
            open = DcepOpen.Parse(data);
        }
        catch (DcepParseException)
        {
            return;
        }

        SctpDataChannel channel;
        lock (_channelsGate)
        {
            if (_channels.ContainsKey(streamId))
            {
                return;
            }

            var type = (DataChannelType)((byte)open.ChannelType & 0x7F);
            var options = new DataChannelOptions
            {
                Protocol = open.Protocol,
                Ordered = open.Ordered,
                Priority = open.Priority,
                MaxRetransmits = type == DataChannelType.PartialReliableRexmit ? (int)Math.Min(open.ReliabilityParameter, int.MaxValue) : null,
                MaxPacketLifeTime = type == DataChannelType.PartialReliableTimed ? TimeSpan.FromMilliseconds(open.ReliabilityParameter) : null,
            };
            channel = new SctpDataChannel(this, streamId, open.Label, options, _options.RemoteMaxMessageSize);
            _channels[streamId] = channel;
        }

        SendControl(streamId, [DcepOpen.AckMessageType], now);
        channel.TrySetState(DataChannelState.Connecting, DataChannelState.Open);
        _remoteChannels.Writer.TryWrite(channel);
    }

    private void BeginClose(SctpDataChannel channel)
    {
        if (channel.OutgoingResetRequested)
        {
            return;
        }

        channel.OutgoingResetRequested = true;
        if (_association.State != SctpAssociationState.Established)
        {
            Forget(channel);
            return;
        }

        _association.ResetStreams([channel.StreamId]);
    }

    private void FinishCloseIfDone(SctpDataChannel channel)
    {
        if (channel.OutgoingResetDone && channel.IncomingResetDone)
        {
            Forget(channel);
        }
    }

    private void Forget(SctpDataChannel channel)
    {
        lock (_channelsGate)
        {
            _channels.Remove(channel.StreamId);
        }

        _controlBytes.Remove(channel.StreamId);
        channel.MarkClosed();
    }

    private void OnAssociationEnded(string? abortReason)
    {
        List<SctpDataChannel> all;
        lock (_channelsGate)
        {
            all = [.. _channels.Values];
            _channels.Clear();
        }

        foreach (var channel in all)
        {
            channel.MarkClosed();
        }

        _remoteChannels.Writer.TryComplete();
        _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _scheduled = TimeSpan.MaxValue;
        _connected.TrySetException(new DataChannelClosedException(abortReason ?? "The association closed before it was established."));
        _closed.TrySetResult();
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

    private readonly record struct LoopWork(WorkKind Kind, byte[]? Buffer = null, int Length = 0, SctpDataChannel? Channel = null, uint Ppid = 0);
}
