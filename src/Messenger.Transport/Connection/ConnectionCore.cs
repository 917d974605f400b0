using System.Net;
using Messenger.Transport.DataChannels;
using Messenger.Transport.Dtls;
using Messenger.Transport.Ice;
using Messenger.Transport.Sctp;
using Messenger.Transport.Stun;

namespace Messenger.Transport.Connection;

/// <summary>What a <see cref="ConnectionCore"/> tells its owner, on the loop thread.</summary>
internal interface IConnectionEvents
{
    void OnIceStateChanged(IceConnectionState state);

    /// <summary>The peer closed DTLS: close_notify (<paramref name="error"/> null) or a fatal alert.</summary>
    void OnDtlsClosed(DtlsException? error);

    /// <summary>A STUN datagram the ICE agent did not claim (a STUN server's answer to our gathering).</summary>
    void OnStunResponse(StunMessage message);
}

/// <summary>
/// Everything one peer connection does with datagrams, sans-IO and single-threaded: the ICE agent, the demultiplexer
/// (RFC 7983), the DTLS record layer once BouncyCastle's handshake is done (handshake datagrams go to its thread until
/// then), the SCTP association and its data channels. Its owner feeds it datagrams, commands and the time, and it
/// writes what it produces to an <see cref="IConnectionSocket"/>: one received datagram is decrypted in place and
/// handed to SCTP without a copy or a thread hop, and SCTP packets are sealed in place in the send batch.
/// </summary>
internal sealed class ConnectionCore : IDisposable
{
    // Handshake datagrams from the peer that come before our handshake starts (the peer's ClientHello right after its
    // connectivity check of us succeeded): kept, not dropped, so setup does not wait for the peer's 1 s retransmit.
    private const int MaxEarlyDatagrams = 16;
    private static readonly TimeSpan FinalFlightInterval = TimeSpan.FromMilliseconds(250);

    private readonly IConnectionSocket _socket;
    private readonly IConnectionEvents _events;
    private readonly Queue<byte[]> _early = new();

    // Checks that arrive before our own description is applied (the peer got ours and started first): answered once
    // the agent exists, instead of leaving the peer to retransmit after its 250 ms check timeout.
    private readonly Queue<(byte[] Datagram, byte[] Source)> _earlyStun = new();
    private IceAgent? _agent;
    private byte[][] _dtlsSources = [];
    private int _dtlsSourceCount = -1;
    private IPEndPoint? _selected;
    private QueuedDatagramTransport? _handshakePath;
    private DtlsRecordLayer? _records;
    private IReadOnlyList<byte[]> _finalFlight = [];
    private TimeSpan _lastFinalFlight = TimeSpan.MinValue;
    private SctpAssociation? _association;
    private DataChannelSet? _channels;
    private int _packetRoom;
    private bool _aborted;
    private bool _dtlsClosed;

    public ConnectionCore(IConnectionSocket socket, IConnectionEvents events)
    {
        _socket = socket;
        _events = events;
    }

    public IceAgent? Agent => _agent;

    public IPEndPoint? SelectedRemote => _selected;

    public DtlsRecordLayer? Records => _records;

    public SctpAssociation? Association => _association;

    /// <summary>When <see cref="HandleTimeout"/> should next run; <see cref="TimeSpan.MaxValue"/> for never.</summary>
    public TimeSpan NextTimeout
    {
        get
        {
            var next = _agent?.NextTimeout ?? TimeSpan.MaxValue;
            if (_association is { } association && association.NextDeadline < next)
            {
                next = association.NextDeadline;
            }

            return next;
        }
    }

    // ---------------------------------------------------------------- ICE

    public void StartIce(IceAgentOptions options, IEnumerable<IceCandidate> hostCandidates, TimeSpan now)
    {
        _agent = new IceAgent(options);
        foreach (var candidate in hostCandidates)
        {
            _agent.AddLocalCandidate(candidate, now);
        }

        AfterIce(now);
        while (_earlyStun.TryDequeue(out var early))
        {
            OnStun(early.Datagram, early.Source, now);
        }
    }

    /// <summary>Runs one call on the agent (a candidate, credentials), then sends what it produced.</summary>
    public void WithAgent(Action<IceAgent, TimeSpan> action, TimeSpan now)
    {
        if (_agent is { } agent)
        {
            action(agent, now);
            AfterIce(now);
        }
    }

    public void CloseIce(TimeSpan now)
    {
        if (_agent is { } agent)
        {
            agent.Close();
            AfterIce(now);
        }
    }

    private void AfterIce(TimeSpan now)
    {
        var agent = _agent!;
        while (agent.TryDequeueTransmit(out var transmit))
        {
            _socket.SendTo(transmit.Datagram, transmit.Destination);
        }

        var selected = agent.SelectedPair?.RemoteEndPoint;
        if (selected is not null && !selected.Equals(_selected))
        {
            _selected = selected;
            _socket.SetRemote(selected);
        }

        RefreshDtlsSources();
        while (agent.TryDequeueEvent(out var e))
        {
            if (e.State is { } state)
            {
                _events.OnIceStateChanged(state);
            }
        }
    }

    // DTLS is taken from the addresses a check has proven (RFC 8445 §7.2.5.3.2) and from those that sent us an
    // authenticated request: an off-path sender that guesses the port cannot inject records into the handshake.
    private void RefreshDtlsSources()
    {
        var count = 0;
        foreach (var pair in _agent!.Pairs)
        {
            count += IsDtlsPeer(pair) ? 1 : 0;
        }

        if (count == _dtlsSourceCount)
        {
            return;
        }

        _dtlsSourceCount = count;
        _dtlsSources = [.. _agent.Pairs.Where(IsDtlsPeer).Select(p => _socket.Encode(p.RemoteEndPoint))];
    }

    private static bool IsDtlsPeer(IceCandidatePair pair) => pair.State == IceCandidatePairState.Succeeded || pair.RequestReceived;

    private bool IsDtlsSource(ReadOnlySpan<byte> source)
    {
        foreach (var address in _dtlsSources)
        {
            if (source.SequenceEqual(address))
            {
                return true;
            }
        }

        return false;
    }

    // ---------------------------------------------------------------- datagrams in

    /// <summary>Handles one received datagram (decrypted in place); <paramref name="source"/> is its raw address.</summary>
    public void HandleDatagram(Span<byte> datagram, ReadOnlySpan<byte> source, TimeSpan now)
    {
        switch (DatagramDemultiplexer.Classify(datagram))
        {
            case DatagramKind.Stun:
                OnStun(datagram, source, now);
                break;
            case DatagramKind.Dtls when IsDtlsSource(source):
                OnDtls(datagram, now);
                break;

            default:
                break; // RFC 7983: nothing else runs on this port (the loop's own wake-ups land here too)
        }
    }

    private void OnStun(ReadOnlySpan<byte> datagram, ReadOnlySpan<byte> source, TimeSpan now)
    {
        if (_agent is null && _earlyStun.Count < MaxEarlyDatagrams)
        {
            _earlyStun.Enqueue((datagram.ToArray(), source.ToArray()));
            return;
        }

        var handled = false;
        if (_agent is { } agent)
        {
            handled = agent.HandleDatagram(datagram, _socket.Decode(source), now);
            AfterIce(now);
        }

        if (!handled && StunMessage.TryParse(datagram, out var message, out _))
        {
            _events.OnStunResponse(message);
        }
    }

    private void OnDtls(Span<byte> datagram, TimeSpan now)
    {
        if (_records is not { } records)
        {
            if (_handshakePath is { } path)
            {
                path.Deliver(datagram);
            }
            else if (_early.Count < MaxEarlyDatagrams)
            {
                _early.Enqueue(datagram.ToArray());
            }

            return;
        }

        var offset = 0;
        while (!_dtlsClosed)
        {
            switch (records.Open(datagram, ref offset, out var plaintext))
            {
                case DtlsRecordKind.End:
                    return;
                case DtlsRecordKind.ApplicationData when _association is { } association:
                    if (_agent is { } agent && agent.NoteHeard(now))
                    {
                        AfterIce(now);
                    }

                    association.HandlePacket(plaintext, now);
                    Flush(now); // SACKs go out as the association asks (every second packet), batched below us
                    break;
                case DtlsRecordKind.CloseNotify:
                    _dtlsClosed = true;
                    _events.OnDtlsClosed(null);
                    return;
                case DtlsRecordKind.FatalAlert:
                    _dtlsClosed = true;
                    _events.OnDtlsClosed(new DtlsAlertException(Org.BouncyCastle.Tls.AlertDescription.GetName(plaintext[1]), received: true, null));
                    return;
                case DtlsRecordKind.HandshakeRetransmission:
                    ResendFinalFlight(now);
                    break;
                default:
                    break; // dropped: forged, replayed, or of no use to us
            }
        }
    }

    // RFC 6347 §4.2.4: the client repeating its last flight means our final flight was lost; send it again, paced.
    private void ResendFinalFlight(TimeSpan now)
    {
        if (_finalFlight.Count == 0 || _selected is not { } remote || (_lastFinalFlight != TimeSpan.MinValue && now - _lastFinalFlight < FinalFlightInterval))
        {
            return;
        }

        _lastFinalFlight = now;
        foreach (var datagram in _finalFlight)
        {
            _socket.SendTo(datagram, remote);
        }
    }

    // ---------------------------------------------------------------- DTLS handshake

    /// <summary>Handshake datagrams go to <paramref name="path"/> (BouncyCastle's thread) from now on, the early ones first.</summary>
    public void BeginHandshake(QueuedDatagramTransport path)
    {
        _handshakePath = path;
        while (_early.TryDequeue(out var datagram))
        {
            path.Deliver(datagram);
        }
    }

    /// <summary>The handshake is done: records are ours from now on, and SCTP starts (both sides start; RFC 9260 §5.2.1).</summary>
    public void CompleteHandshake(DtlsHandshakeResult result, TimeSpan now)
    {
        _records = new DtlsRecordLayer(result.Keys);
        _finalFlight = result.FinalFlight;
        result.Dispose();
        if (_handshakePath is { } path)
        {
            // What arrived after BouncyCastle's last read (the peer's first SCTP packet, say) is epoch 1: ours now.
            _handshakePath = null;
            var buffer = new byte[path.MaxDatagramSize];
            int length;
            while ((length = path.Receive(buffer, TimeSpan.Zero)) >= 0)
            {
                OnDtls(buffer.AsSpan(0, length), now);
            }

            path.Dispose();
        }

        if (_association is { State: SctpAssociationState.Closed } association && !_aborted)
        {
            association.Connect(now);
        }

        Flush(now);
    }

    /// <summary>The handshake failed or was abandoned: stop feeding it.</summary>
    public void AbandonHandshake()
    {
        _handshakePath?.Dispose();
        _handshakePath = null;
        _early.Clear();
    }

    /// <summary>Sends close_notify (RFC 5246 §7.2.1) when the record layer is up.</summary>
    public void SendCloseNotify()
    {
        if (_records is not { } records || _selected is null || _dtlsClosed)
        {
            return;
        }

        _dtlsClosed = true;
        var record = _socket.Reserve(records.Overhead + 2);
        _socket.Commit(records.SealCloseNotify(record));
    }

    // ---------------------------------------------------------------- SCTP and channels

    /// <summary>Takes the association and channel set (made when both descriptions fixed the DTLS role).</summary>
    public void ConfigureSctp(SctpAssociation association, DataChannelSet channels, int mtu)
    {
        _association = association;
        _channels = channels;
        _packetRoom = mtu;
    }

    public void Send(SctpDataChannel channel, uint ppid, OutboundPayload payload, TimeSpan now)
    {
        if (_channels is { } channels)
        {
            channels.Send(channel, ppid, payload, now);
        }
        else
        {
            payload.Release();
        }
    }

    public void Open(SctpDataChannel channel, TimeSpan now) => _channels?.Open(channel, now);

    public void Close(SctpDataChannel channel) => _channels?.Close(channel);

    public void Consumed(long bytes) => _association?.MarkConsumed(bytes);

    /// <summary>Graceful SCTP shutdown (RFC 9260 §9.2), or an abort when the association never came up.</summary>
    public void Shutdown(TimeSpan now)
    {
        switch (_association?.State)
        {
            case SctpAssociationState.Established:
                _association.Shutdown(now);
                break;
            case SctpAssociationState.CookieWait or SctpAssociationState.CookieEchoed:
                _association.Abort("Closed before the association was established.");
                break;
            case SctpAssociationState.Closed:
                _channels!.OnAssociationEnded(null);
                break;
            default:
                break;
        }
    }

    /// <summary>Ends the association at once (the path is gone) and closes every channel.</summary>
    public void Abort(string reason)
    {
        _aborted = true; // a handshake finishing later must not bring SCTP up
        if (_association is not { } association)
        {
            return;
        }

        if (association.State == SctpAssociationState.Closed)
        {
            _channels!.OnAssociationEnded(reason);
        }
        else
        {
            association.Abort(reason);
        }
    }

    /// <summary>Delivers the association's events and sends every packet it has (sealed in place), until it has none.</summary>
    public void Flush(TimeSpan now)
    {
        if (_association is not { } association)
        {
            return;
        }

        while (true)
        {
            while (association.TryPollEvent(out var e))
            {
                _channels!.OnEvent(e, now);
            }

            if (_records is not { } records || _selected is null || _dtlsClosed)
            {
                return; // nothing leaves before DTLS is up; the association keeps it queued
            }

            var room = _socket.Reserve(records.Overhead + _packetRoom);
            var length = association.PollPacket(room[records.PlaintextOffset..(records.PlaintextOffset + _packetRoom)], now);
            if (length == 0)
            {
                return;
            }

            _socket.Commit(records.Seal(room, length));
        }
    }

    // ---------------------------------------------------------------- time

    public void HandleTimeout(TimeSpan now)
    {
        if (_agent is { } agent && agent.NextTimeout <= now)
        {
            agent.HandleTimeout(now);
            AfterIce(now);
        }

        if (_association is { } association && association.NextDeadline <= now)
        {
            association.HandleTimeout(now);
            Flush(now);
        }
    }

    /// <summary>Releases the record layer's keys; call once the loop thread has ended.</summary>
    public void Dispose()
    {
        _records?.Dispose();
        _handshakePath?.Dispose();
    }
}
