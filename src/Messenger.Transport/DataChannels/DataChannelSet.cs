using System.Threading.Channels;
using Messenger.Contracts.Channels;
using Messenger.Transport.Sctp;

namespace Messenger.Transport.DataChannels;

/// <summary>
/// What a data channel asks of the loop that owns its association. Calls come from any thread; the loop performs
/// them in order on its own thread.
/// </summary>
internal interface IDataChannelLoop
{
    /// <summary>Queues one message; the loop owns <paramref name="payload"/> from now on.</summary>
    void PostSend(SctpDataChannel channel, uint ppid, OutboundPayload payload);

    void PostOpen(SctpDataChannel channel);

    void PostClose(SctpDataChannel channel);

    /// <summary>The application read <paramref name="bytes"/> of received messages: the receive window may reopen.</summary>
    void ReportConsumed(long bytes);
}

/// <summary>
/// The data channels of one SCTP association (RFC 8831/8832): stream ids by DTLS role, DCEP open/ack, delivery of
/// messages to their channel, buffered-amount accounting and the stream-reset close. Sans-IO and single-threaded
/// except <see cref="Create"/>: the owning loop (<see cref="DataChannelConnection"/> or a peer connection's loop) calls
/// everything else on its thread and feeds it the association's events.
/// </summary>
internal sealed class DataChannelSet
{
    private readonly SctpAssociation _association;
    private readonly IDataChannelLoop _loop;
    private readonly int _streams;
    private readonly int _remoteMaxMessageSize;
    private readonly Dictionary<ushort, SctpDataChannel> _channels = [];
    private readonly Dictionary<ushort, long> _controlBytes = [];
    private readonly Lock _gate = new();
    private readonly Channel<SctpDataChannel> _remoteChannels = Channel.CreateUnbounded<SctpDataChannel>();
    private readonly TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _nextStreamId;

    public DataChannelSet(SctpAssociation association, IDataChannelLoop loop, bool isDtlsClient, int remoteMaxMessageSize, int streams)
    {
        _association = association;
        _loop = loop;
        _streams = streams;
        _remoteMaxMessageSize = remoteMaxMessageSize;
        _nextStreamId = isDtlsClient ? 0 : 1; // RFC 8832 §6: the DTLS client opens even stream ids, the server odd ones
    }

    /// <summary>Completes when the association is established; faults if it ends first.</summary>
    public Task Connected => _connected.Task;

    /// <summary>Completes when the association has ended, gracefully or not.</summary>
    public Task Closed => _closed.Task;

    /// <summary>Channels the peer opened, in the order their DATA_CHANNEL_OPEN arrived.</summary>
    public ChannelReader<SctpDataChannel> RemoteChannels => _remoteChannels.Reader;

    /// <summary>Channels not yet fully closed; a closed channel's stream id is free again.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _channels.Count;
            }
        }
    }

    /// <summary>Makes a channel with the next free stream id of our parity; the caller posts its open. Any thread.</summary>
    public SctpDataChannel Create(string label, DataChannelOptions options)
    {
        if (options.MaxRetransmits is not null && options.MaxPacketLifeTime is not null)
        {
            throw new ArgumentException("A channel limits retransmits or lifetime, not both (RFC 8832 §5.1).", nameof(options));
        }

        lock (_gate)
        {
            var id = -1;
            for (var candidate = _nextStreamId; candidate < _streams; candidate += 2)
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
            var channel = new SctpDataChannel(_loop, (ushort)id, label, options, _remoteMaxMessageSize);
            _channels[(ushort)id] = channel;
            return channel;
        }
    }

    /// <summary>Sends the channel's DATA_CHANNEL_OPEN (RFC 8832 §5.1).</summary>
    public void Open(SctpDataChannel channel, TimeSpan now)
    {
        var open = channel.Options;
        var type = (open.MaxRetransmits, open.MaxPacketLifeTime) switch
        {
            (not null, _) => DataChannelType.PartialReliableRexmit,
            (_, not null) => DataChannelType.PartialReliableTimed,
            _ => DataChannelType.Reliable,
        };
        var reliability = (uint)(open.MaxRetransmits ?? (int)(open.MaxPacketLifeTime?.TotalMilliseconds ?? 0));
        var message = new DcepOpen(open.Ordered ? type : (DataChannelType)((byte)type | 0x80), open.Priority, reliability, channel.Label, open.Protocol);
        SendControl(channel.StreamId, message.Serialize(), now);
    }

    public void Send(SctpDataChannel channel, uint ppid, OutboundPayload payload, TimeSpan now)
    {
        try
        {
            _association.Send(channel.StreamId, ppid, payload, channel.SendOptions, now);
        }
        catch (InvalidOperationException)
        {
            // The association is going away; the message is dropped and no longer counts as buffered.
            channel.OnBytesSent(payload.Length);
            payload.Release();
        }
    }

    /// <summary>Starts the close of one channel: reset our outgoing stream (RFC 8831 §6.7).</summary>
    public void Close(SctpDataChannel channel)
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

    /// <summary>Acts on one association event.</summary>
    public void OnEvent(in SctpEvent e, TimeSpan now)
    {
        switch (e.Kind)
        {
            case SctpEventKind.Connected:
                _connected.TrySetResult();
                break;
            case SctpEventKind.MessageReceived:
                OnMessage(e.StreamId, e.PayloadProtocolId, e.Message, now);
                break;
            case SctpEventKind.BufferedAmountDecreased:
                OnBufferedAmountDecreased(e.StreamId, e.Bytes);
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
                        Close(channel);
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
                if (e.Kind == SctpEventKind.Aborted)
                {
                    RecordAbort(e.Reason);
                }

                OnAssociationEnded(e.Kind == SctpEventKind.Aborted ? e.Reason : null);
                break;
            default:
                break;
        }
    }

    /// <summary>Why the SCTP association was aborted (an ABORT, sent or received), or null while it runs or after another end.</summary>
    public string? AbortReason { get; private set; }

    /// <summary>Notes an SCTP abort, by either side (not the path or DTLS going away); the first reason stays.</summary>
    public void RecordAbort(string? reason) => AbortReason ??= reason;

    /// <summary>Closes every channel and ends the set; <paramref name="abortReason"/> null for a graceful end.</summary>
    public void OnAssociationEnded(string? abortReason)
    {
        List<SctpDataChannel> all;
        lock (_gate)
        {

            all = [.. _channels.Values];
            _channels.Clear();
        }

        foreach (var channel in all)
        {
            channel.MarkClosed();
        }

        _remoteChannels.Writer.TryComplete();
        _connected.TrySetException(new DataChannelClosedException(abortReason ?? "The association closed before it was established."));
        _closed.TrySetResult();
    }

    private void OnBufferedAmountDecreased(ushort streamId, long bytes)
    {
        if (_controlBytes.TryGetValue(streamId, out var control))
        {
            var consumed = Math.Min(control, bytes);
            bytes -= consumed;
            if (control == consumed)
            {
                _controlBytes.Remove(streamId);
            }
            else
            {
                _controlBytes[streamId] = control - consumed;
            }
        }

        if (bytes > 0)
        {
            Find(streamId)?.OnBytesSent(bytes);
        }
    }

    private void SendControl(ushort streamId, byte[] message, TimeSpan now)
    {
        // RFC 8832 §6: DCEP messages travel reliably and in order on the channel's own stream.
        _controlBytes[streamId] = _controlBytes.GetValueOrDefault(streamId) + message.Length;
        try
        {
            _association.Send(streamId, DataChannelPpid.Dcep, OutboundPayload.Of(message), default, now);
        }
        catch (InvalidOperationException)
        {
            _controlBytes.Remove(streamId);
        }
    }

    private SctpDataChannel? Find(ushort streamId)
    {
        lock (_gate)
        {
            return _channels.GetValueOrDefault(streamId);
        }
    }

    private void OnMessage(ushort streamId, uint ppid, InboundMessage message, TimeSpan now)
    {
        var channel = Find(streamId);
        var isUserData = ppid is DataChannelPpid.String or DataChannelPpid.Binary or DataChannelPpid.StringEmpty or DataChannelPpid.BinaryEmpty;
        if (!isUserData || channel is null || channel.State == DataChannelState.Closed)
        {
            // Only messages queued for a reader hold the receive window; everything else is consumed here.
            _association.MarkConsumed(message.Length);
            var data = message.Span;
            if (ppid == DataChannelPpid.Dcep && data.Length > 0 && data[0] == DcepOpen.MessageType)
            {
                OnOpenRequest(streamId, data, now);
            }
            else if (ppid == DataChannelPpid.Dcep && data.Length == 1 && data[0] == DcepOpen.AckMessageType)
            {
                channel?.TrySetState(DataChannelState.Connecting, DataChannelState.Open);
            }

            message.Release();
            return;
        }

        // RFC 8832 §6: user data before the ACK means the peer got our OPEN.
        channel.TrySetState(DataChannelState.Connecting, DataChannelState.Open);
        var empty = ppid is DataChannelPpid.StringEmpty or DataChannelPpid.BinaryEmpty;
        channel.Deliver(message, isText: ppid is DataChannelPpid.String or DataChannelPpid.StringEmpty, empty);
    }

    private void OnOpenRequest(ushort streamId, ReadOnlySpan<byte> data, TimeSpan now)
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
        lock (_gate)
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
            channel = new SctpDataChannel(_loop, streamId, open.Label, options, _remoteMaxMessageSize);
            _channels[streamId] = channel;
        }

        SendControl(streamId, [DcepOpen.AckMessageType], now);
        channel.TrySetState(DataChannelState.Connecting, DataChannelState.Open);
        _remoteChannels.Writer.TryWrite(channel);
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
        lock (_gate)
        {
            _channels.Remove(channel.StreamId);
        }

        _controlBytes.Remove(channel.StreamId);
        channel.MarkClosed();
    }
}
