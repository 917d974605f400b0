using System.Buffers.Binary;
using Messenger.Transport.Sctp.Chunks;

namespace Messenger.Transport.Sctp;

/// <summary>The sending half: queues, TSN assignment, SACK processing, retransmission and congestion control.</summary>
public sealed partial class SctpAssociation
{
    private readonly ChunkRing<OutboundChunk> _outstanding = new();
    private readonly Queue<OutboundChunk> _retransmitQueue = new();
    private readonly Dictionary<ushort, OutboundStream> _outStreams = [];
    private readonly Queue<OutboundStream> _scheduler = new();

    // Recycled messages and chunks: old objects pointing at old objects, so the steady state allocates nothing and
    // the GC's card table is not dirtied by young messages hanging off a long-lived queue.
    private readonly Stack<OutboundMessage> _freeMessages = new();
    private readonly Stack<OutboundChunk> _freeChunks = new();

    private OutboundMessage? _current;
    private OutboundStream? _currentStream;
    private uint _nextTsn;
    private uint _cumAckPoint;
    private uint _advancedPeerAckPoint;
    private bool _forwardTsnDue;
    private long _flight;
    private long _cwnd;
    private long _ssthresh;
    private long _partialBytesAcked;
    private long _peerRwnd;
    private bool _fastRecovery;
    private uint _fastRecoveryExit;
    private bool _fastRetransmitPending;

    // Veno (SctpCongestionControl.Veno): the newest RTT sample and the smallest of the last 30 s, kept in two
    // 15 s buckets so a path that got longer is learnt within 30 s.
    private static readonly TimeSpan BaseRttBucket = TimeSpan.FromSeconds(15);
    private TimeSpan _latestRtt;
    private TimeSpan _baseRttCurrent = TimeSpan.MaxValue;
    private TimeSpan _baseRttPrevious = TimeSpan.MaxValue;
    private TimeSpan _baseRttBucketStart = TimeSpan.MinValue;
    private bool _slowGrowthRound;

    // QueueDelayTarget: the last four RTT samples (their minimum filters a scheduling hiccup out), and the round of a
    // window's acked bytes at whose end the queue is judged.
    private readonly TimeSpan[] _recentRtts = new TimeSpan[4];
    private int _recentRttCount;
    private int _recentRttNext;
    private long _roundAcked;
    private long _roundLength;
    private TimeSpan _lastQueueDelayCut = TimeSpan.MinValue;
    private int _outboundStreamLimit = ushort.MaxValue;

    // RFC 9260 §6.3.1 C4/C5: one chunk at a time is timed, at most one sample per round trip; a timeout cancels it.
    private OutboundChunk? _rttProbe;

    /// <summary>Bytes passed to <see cref="Send"/> not yet put on the wire for the first time.</summary>
    public long QueuedBytes { get; private set; }

    public long CongestionWindow => _cwnd;

    public long FlightSize => _flight;

    /// <summary>DATA chunks with a TSN the peer has not yet cumulatively acknowledged.</summary>
    public int OutstandingChunks => _outstanding.Count;

    public long RetransmittedChunks { get; private set; }

    /// <summary>The newest RTT sample (zero before the first).</summary>
    internal TimeSpan LatestRtt => _latestRtt;

    /// <summary>Times cwnd was cut because the queue exceeded <see cref="SctpAssociationOptions.QueueDelayTarget"/>.</summary>
    public long QueueDelayCuts { get; private set; }

    /// <summary>Outgoing streams with state kept (a queue or a non-zero SSN); a reset stream is forgotten.</summary>
    internal int OutboundStreamCount => _outStreams.Count;

    internal int InboundStreamCount => _reassembly.StreamCount;

    internal string DebugState =>
        $"rx [{_reassembly.DebugState}] cum {_tsnTracker?.CumulativeTsn} " +
        $"cumAck {_cumAckPoint}, nextTsn {_nextTsn}, rtxQueue {_retransmitQueue.Count}, scheduler {_scheduler.Count}, current {_current is not null}, " +
        $"peerRwnd {_peerRwnd}, fastRecovery {_fastRecovery}, t3 {_t3}, front {(_outstanding.Count > 0 ? $"tsn {_outstanding.Front.Tsn} gap {_outstanding.Front.GapAcked} inflight {_outstanding.Front.InFlight} marked {_outstanding.Front.MarkedForRetransmit} abandoned {_outstanding.Front.Abandoned} tx {_outstanding.Front.TransmitCount}" : "none")}";

    public long FastRetransmits { get; private set; }

    /// <summary>Loss events the Veno rule judged random (cwnd cut to 4/5) and congestive (cwnd halved).</summary>
    public long RandomLossEvents { get; private set; }

    public long CongestionLossEvents { get; private set; }

    public long RetransmissionTimeouts { get; private set; }

    /// <summary>
    /// Queues a user message on a stream. The association takes ownership of <paramref name="data"/>, which must not be
    /// empty (RFC 9260 §6.2: DATA carries at least one byte).
    /// </summary>
    public void Send(ushort streamId, uint payloadProtocolId, byte[] data, SctpSendOptions options, TimeSpan now) =>
        Send(streamId, payloadProtocolId, OutboundPayload.Of(data), options, now);

    /// <summary>
    /// Queues a user message on a stream. The association owns <paramref name="payload"/> from now on and releases it
    /// once the peer acknowledged all of it (or it was abandoned or dropped); it must hold at least one byte.
    /// On an exception the caller still owns it.
    /// </summary>
    public void Send(ushort streamId, uint payloadProtocolId, OutboundPayload payload, SctpSendOptions options, TimeSpan now)
    {
        if (payload.Length == 0)
        {
            throw new ArgumentException("An SCTP message must carry at least one byte.", nameof(payload));
        }

        if (State is not (SctpAssociationState.Closed or SctpAssociationState.CookieWait or SctpAssociationState.CookieEchoed or SctpAssociationState.Established) || _closedForGood)
        {
            throw new InvalidOperationException($"Cannot send while the association is {State}.");
        }

        if (streamId >= _options.Streams)
        {
            throw new ArgumentOutOfRangeException(nameof(streamId), streamId, $"Only {_options.Streams} streams are negotiated.");
        }

        var expiry = options.Lifetime is { } lifetime ? now + lifetime : Never;
        var stream = OutStream(streamId);
        var message = (_freeMessages.TryPop(out var free) ? free : new OutboundMessage()).Init(streamId, payloadProtocolId, payload, options, expiry);
        stream.Queue.Enqueue(message);
        QueuedBytes += payload.Length;
        Schedule(stream);
    }

    /// <summary>A chunk left the outstanding queue: recycle it, and its message when nothing refers to it any more.</summary>
    private void Recycle(OutboundChunk chunk)
    {
        if (chunk == _rttProbe)
        {
            _rttProbe = null;
        }

        var message = chunk.Message;
        message.LiveChunks--;
        chunk.Message = null!;
        _freeChunks.Push(chunk);
        if (message.IsDone)
        {
            RecycleMessage(message);
        }
    }

    private void RecycleMessage(OutboundMessage message)
    {
        message.ReleasePayload();
        if (message != _current)
        {
            _freeMessages.Push(message);
        }
    }

    private OutboundStream OutStream(ushort id)
    {
        if (!_outStreams.TryGetValue(id, out var stream))
        {
            stream = new OutboundStream(id);
            _outStreams[id] = stream;
        }

        return stream;
    }

    private void Schedule(OutboundStream stream)
    {
        if (!stream.Scheduled && stream.Queue.Count > 0 && !IsResetInFlight(stream.Id))
        {
            stream.Scheduled = true;
            _scheduler.Enqueue(stream);
        }
    }

    private void ResetSendState()
    {
        _nextTsn = _localInitialTsn;
        _cumAckPoint = _localInitialTsn - 1;
        _advancedPeerAckPoint = _cumAckPoint;
        _nextRequestSequence = _localInitialTsn;

        // RFC 9260 §7.2.1: initial cwnd = min(4*MTU, max(2*MTU, 4380)) unless the options raise it; ssthresh starts at
        // the peer's window.
        _cwnd = InitialCongestionWindow;
        _ssthresh = _options.ReceiveWindow;
        DropAllSendState();
    }

    private long InitialCongestionWindow =>
        _options.InitialCongestionWindowMtus is { } mtus ? (long)mtus * _mtu : Math.Min(4 * _mtu, Math.Max(2 * _mtu, 4380));

    private void DropAllSendState()
    {
        // Every payload goes back to its owner; the objects are simply dropped (this is no steady state).
        for (var i = 0; i < _outstanding.Count; i++)
        {
            _outstanding[i].Message.ReleasePayload();
        }

        foreach (var stream in _outStreams.Values)
        {
            foreach (var queued in stream.Queue)
            {
                queued.ReleasePayload();
            }
        }

        _current?.ReleasePayload();
        _outstanding.Clear();
        _retransmitQueue.Clear();
        _rttProbe = null;
        _outStreams.Clear();
        _scheduler.Clear();
        _current = null;
        _currentStream = null;
        _flight = 0;
        _partialBytesAcked = 0;
        _fastRecovery = false;
        _fastRetransmitPending = false;
        _forwardTsnDue = false;
        QueuedBytes = 0;
        _pendingResetRequest = null;
        _reconfigRequestDue = false;
        _resetQueue.Clear();
    }

    /// <summary>Picks the message to take the next fragment from: the unfinished one, else round-robin over streams.</summary>
    private OutboundMessage? NextMessage(TimeSpan now)
    {
        if (_current is not null)
        {
            return _current;
        }

        while (_scheduler.TryDequeue(out var stream))
        {
            stream.Scheduled = false;
            if (IsResetInFlight(stream.Id))
            {
                continue;
            }

            while (stream.Queue.TryPeek(out var head) && (now >= head.Expiry || stream.Id >= _outboundStreamLimit))
            {
                // RFC 3758 §3.5: a message whose lifetime ended before it was sent is dropped without a TSN.
                stream.Queue.Dequeue();
                DropUnsent(head, head.Length);
                head.Abandoned = true;
                RecycleMessage(head);
            }

            if (!stream.Queue.TryDequeue(out var message))
            {
                continue;
            }

            if (!message.Unordered)
            {
                message.Ssn = stream.NextSsn++;
            }

            _current = message;
            _currentStream = stream;
            Schedule(stream);
            return message;
        }

        return null;
    }

    private void DropUnsent(OutboundMessage message, int bytes)
    {
        QueuedBytes -= bytes;
        _events.Enqueue(new SctpEvent(SctpEventKind.BufferedAmountDecreased, message.StreamId, Bytes: bytes));
    }

    /// <summary>Writes new DATA chunks into the packet while cwnd and the peer's window allow; returns the new offset.</summary>
    private int WriteNewData(Span<byte> packet, int offset, TimeSpan now)
    {
        while (true)
        {
            var space = _mtu - offset - DataChunk.HeaderLength;
            if (space <= 0 || _flight >= _cwnd)
            {
                return offset;
            }

            var message = NextMessage(now);
            if (message is null)
            {
                return offset;
            }

            var remaining = message.Length - message.FragmentedBytes;
            var size = Math.Min(remaining, space);

            // Avoid slivers: a fragment smaller than a sensible size waits for the next, emptier packet.
            if (size < remaining && size < Math.Min(remaining, 256) && offset > SctpPacket.CommonHeaderLength)
            {
                return offset;
            }

            // RFC 9260 §6.1 A: respect the peer's window, but always allow one chunk when nothing is in flight.
            if (_peerRwnd < size && _flight > 0)
            {
                return offset;
            }

            var chunk = (_freeChunks.TryPop(out var free) ? free : new OutboundChunk()).Init(
                _nextTsn++,
                message,
                message.FragmentedBytes,
                size,
                (byte)((message.FragmentedBytes == 0 ? DataChunk.BeginFlag : 0) |
                    (size == remaining ? DataChunk.EndFlag : 0) | (message.Unordered ? DataChunk.UnorderedFlag : 0)));
            if (message.FragmentedBytes == 0)
            {
                message.FirstTsn = chunk.Tsn;
            }

            message.ChunkCount++;
            message.LiveChunks++;
            message.FragmentedBytes += size;
            if (size == remaining)
            {
                _current = null;
                _currentStream = null;
            }

            _outstanding.PushBack(chunk);
            offset += WriteDataChunk(packet[offset..], chunk, now);
            QueuedBytes -= size;
            _events.Enqueue(new SctpEvent(SctpEventKind.BufferedAmountDecreased, message.StreamId, Bytes: size));
        }
    }

    private int WriteDataChunk(Span<byte> destination, OutboundChunk chunk, TimeSpan now)
    {
        var length = DataChunk.HeaderLength + chunk.Length;
        destination[0] = (byte)ChunkType.Data;
        destination[1] = chunk.Flags;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)length);
        var m = chunk.Message;
        DataChunk.WriteHeaderFields(destination[4..], chunk.Tsn, m.StreamId, m.Ssn, m.PayloadProtocolId);
        m.Payload.Array.AsSpan(chunk.Offset, chunk.Length).CopyTo(destination[DataChunk.HeaderLength..]);
        var padded = Padding.Align4(length);
        destination[length..padded].Clear();

        chunk.TransmitCount++;
        chunk.SentAt = now;
        if (chunk.TransmitCount == 1 && _rttProbe is null)
        {
            _rttProbe = chunk;
        }
        else if (chunk == _rttProbe)
        {
            _rttProbe = null;
        }

        chunk.InFlight = true;
        chunk.MissReports = 0;
        _flight += chunk.Length;
        _peerRwnd = Math.Max(0, _peerRwnd - chunk.Length);
        _lastDataSent = now;
        if (_t3 == Never)
        {
            _t3 = now + _rto;
        }

        return padded;
    }

    /// <summary>Writes chunks marked for retransmission, oldest first; returns the new offset.</summary>
    private int WriteRetransmissions(Span<byte> packet, int offset, TimeSpan now)
    {
        var wrote = false;
        while (_retransmitQueue.TryPeek(out var chunk))
        {
            if (!chunk.MarkedForRetransmit || chunk.GapAcked || chunk.Abandoned)
            {
                _retransmitQueue.Dequeue();
                continue;
            }

            if (ShouldAbandon(chunk, now))
            {
                _retransmitQueue.Dequeue();
                AbandonMessage(chunk.Message);
                continue;
            }

            // RFC 9260 §7.2.4: the first fast-retransmit packet ignores cwnd; everything else respects it.
            if ((!_fastRetransmitPending && _flight >= _cwnd) || DataChunk.HeaderLength + chunk.Length > _mtu - offset)
            {
                break;
            }

            _retransmitQueue.Dequeue();
            chunk.MarkedForRetransmit = false;
            offset += WriteDataChunk(packet[offset..], chunk, now);
            RetransmittedChunks++;
            wrote = true;
        }

        if (wrote)
        {
            _fastRetransmitPending = false;
        }

        return offset;
    }

    // RFC 3758 §3.3: without FORWARD-TSN on the peer, partial reliability is off and everything is retransmitted.
    private bool ShouldAbandon(OutboundChunk chunk, TimeSpan now) =>
        _peerSupportsForwardTsn && chunk.Message.IsPartiallyReliable && (now >= chunk.Message.Expiry || chunk.TransmitCount > chunk.Message.MaxRetransmits);

    /// <summary>RFC 3758 §3.5 A3: abandon every chunk of the message and drop its unsent rest.</summary>
    private void AbandonMessage(OutboundMessage message)
    {
        if (message.Abandoned)
        {
            return;
        }

        message.Abandoned = true;
        message.ReleasePayload(); // nothing of it is sent again
        var first = (int)(message.FirstTsn - (_cumAckPoint + 1));
        for (var i = Math.Max(0, first); i < first + message.ChunkCount && i < _outstanding.Count; i++)
        {
            var chunk = _outstanding[i];
            if (chunk.Message != message || chunk.Abandoned)
            {
                continue;
            }

            chunk.Abandoned = true;
            chunk.MarkedForRetransmit = false;
            if (chunk == _rttProbe)
            {
                _rttProbe = null;
            }

            if (chunk.InFlight)
            {
                chunk.InFlight = false;
                _flight -= chunk.Length;
            }
        }

        if (_current == message)
        {
            // The receiver holds the first fragments and would wait for the end forever. Give the missing end a TSN
            // that is abandoned at birth, so the FORWARD-TSN moves past it and names this SSN (RFC 3758 §3.5 A3).
            var end = (_freeChunks.TryPop(out var free) ? free : new OutboundChunk()).Init(
                _nextTsn++, message, message.FragmentedBytes, 0, (byte)(DataChunk.EndFlag | (message.Unordered ? DataChunk.UnorderedFlag : 0)));
            end.Abandoned = true;
            message.ChunkCount++;
            message.LiveChunks++;
            _outstanding.PushBack(end);
            if (_t3 == Never)
            {
                _t3 = _lastDataSent + _rto;
            }

            _current = null;
            DropUnsent(message, message.Length - message.FragmentedBytes);
            if (_currentStream is not null)
            {
                Schedule(_currentStream);
            }

            _currentStream = null;
        }

        UpdateAdvancedPeerAckPoint();
    }

    private void UpdateAdvancedPeerAckPoint()
    {
        if (!_peerSupportsForwardTsn)
        {
            return;
        }

        // RFC 3758 §3.5 C1: move past abandoned chunks that directly follow the cumulative ack point.
        if (SerialNumber.Less(_advancedPeerAckPoint, _cumAckPoint))
        {
            _advancedPeerAckPoint = _cumAckPoint;
        }

        var i = (int)(_advancedPeerAckPoint - _cumAckPoint);
        while (i < _outstanding.Count && _outstanding[i].Abandoned)
        {
            _advancedPeerAckPoint = _outstanding[i].Tsn;
            i++;
        }

        if (SerialNumber.Greater(_advancedPeerAckPoint, _cumAckPoint))
        {
            _forwardTsnDue = true;
        }
    }

    private int WriteForwardTsn(Span<byte> packet, int offset)
    {
        if (!_forwardTsnDue || !SerialNumber.Greater(_advancedPeerAckPoint, _cumAckPoint))
        {
            _forwardTsnDue = false;
            return offset;
        }

        // RFC 3758 §3.2: list the highest abandoned SSN of every ordered stream the skipped TSNs touched.
        var chunk = new ForwardTsnChunk { NewCumulativeTsn = _advancedPeerAckPoint };
        var count = (int)(_advancedPeerAckPoint - _cumAckPoint);
        for (var i = 0; i < count && i < _outstanding.Count; i++)
        {
            var m = _outstanding[i].Message;
            if (m.Unordered)
            {
                continue;
            }

            var index = chunk.Streams.FindIndex(s => s.StreamId == m.StreamId);
            if (index < 0)
            {
                chunk.Streams.Add((m.StreamId, m.Ssn));
            }
            else if (SerialNumber.Less(chunk.Streams[index].Ssn, m.Ssn))
            {
                chunk.Streams[index] = (m.StreamId, m.Ssn);
            }
        }

        if (chunk.PaddedLength > _mtu - offset)
        {
            return offset;
        }

        _forwardTsnDue = false;
        return offset + chunk.WriteTo(packet[offset..]);
    }

    // Reads the SACK straight from the packet (RFC 9260 §3.3.4) so the hot path allocates nothing.
    private void OnSack(ReadOnlySpan<byte> value, TimeSpan now)
    {
        if (value.Length < 12)
        {
            throw new SctpParseException($"SACK is {value.Length} bytes, needs 12.");
        }

        int gaps = BinaryPrimitives.ReadUInt16BigEndian(value[8..]);
        int duplicates = BinaryPrimitives.ReadUInt16BigEndian(value[10..]);
        if (value.Length != 12 + (4 * gaps) + (4 * duplicates))
        {
            throw new SctpParseException($"SACK claims {gaps} gap blocks and {duplicates} duplicates but is {value.Length} bytes.");
        }

        OnSack(BinaryPrimitives.ReadUInt32BigEndian(value), BinaryPrimitives.ReadUInt32BigEndian(value[4..]), value.Slice(12, 4 * gaps), now);
    }

    private void OnSack(uint cumulative, uint advertisedWindow, ReadOnlySpan<byte> gapBlocks, TimeSpan now)
    {
        if (State is SctpAssociationState.Closed or SctpAssociationState.CookieWait or SctpAssociationState.CookieEchoed)
        {
            return;
        }

        // RFC 9260 §6.2.1 D i): a SACK older than the cumulative ack point is out of date.
        if (SerialNumber.Less(cumulative, _cumAckPoint))
        {
            return;
        }

        // An ack for a TSN we never sent is a protocol violation (RFC 9260 §6.2.1 D ii).
        if (SerialNumber.GreaterOrEqual(cumulative, _nextTsn))
        {
            Abort("The peer acknowledged a TSN that was never sent.");
            return;
        }

        var flightBefore = _flight;
        long newlyAcked = 0;
        var cumulativeAdvanced = SerialNumber.Greater(cumulative, _cumAckPoint);
        TimeSpan? rttSample = null;

        // The latest send time among the chunks this SACK newly acknowledges: a chunk sent before it and still missing
        // has been overtaken (RFC 8985's idea, applied to SCTP's miss counting below).
        var newestAckedSentAt = TimeSpan.MinValue;
        while (_outstanding.Count > 0 && SerialNumber.LessOrEqual(_outstanding.Front.Tsn, cumulative))
        {
            var chunk = _outstanding.PopFront();
            if (!chunk.GapAcked && !chunk.Abandoned && chunk.SentAt > newestAckedSentAt)
            {
                newestAckedSentAt = chunk.SentAt;
            }

            newlyAcked += Acknowledge(chunk, ref rttSample, now);
            Recycle(chunk);
        }

        _cumAckPoint = cumulative;

        var highestNewlyAcked = cumulative;
        for (var g = 0; g < gapBlocks.Length; g += 4)
        {
            var start = BinaryPrimitives.ReadUInt16BigEndian(gapBlocks[g..]);
            var end = BinaryPrimitives.ReadUInt16BigEndian(gapBlocks[(g + 2)..]);
            if (start > end || start == 0)
            {
                continue;
            }

            for (var offset = (uint)start; offset <= end; offset++)
            {
                var index = (int)offset - 1;
                if (index >= _outstanding.Count)
                {
                    break;
                }

                var chunk = _outstanding[index];
                if (!chunk.GapAcked)
                {
                    if (!chunk.Abandoned && chunk.SentAt > newestAckedSentAt)
                    {
                        newestAckedSentAt = chunk.SentAt;
                    }

                    newlyAcked += Acknowledge(chunk, ref rttSample, now);
                    chunk.GapAcked = true;
                    highestNewlyAcked = SerialNumber.Max(highestNewlyAcked, chunk.Tsn);
                }
            }
        }

        if (rttSample is { } sample)
        {
            UpdateRtt(sample, now);
        }

        if (newlyAcked > 0)
        {
            _errorCount = 0;
        }

        // RFC 9260 §7.2.4: count a miss for every unacked TSN below the highest newly acked one (HTNA).
        if (SerialNumber.Greater(highestNewlyAcked, cumulative))
        {
            MarkMisses(highestNewlyAcked, newestAckedSentAt, now);
        }

        if (_fastRecovery && SerialNumber.GreaterOrEqual(cumulative, _fastRecoveryExit))
        {
            _fastRecovery = false;
        }

        if (cumulativeAdvanced && !_fastRecovery)
        {
            GrowCongestionWindow(newlyAcked, flightBefore, now);
        }

        // RFC 9260 §6.2.1: the peer's window minus what is still in flight.
        _peerRwnd = Math.Max(0, advertisedWindow - _flight);

        // RFC 9260 §6.3.2 R2/R3: stop T3 when nothing is outstanding, restart it when the cumulative ack moves.
        if (_outstanding.Count == 0)
        {
            _t3 = Never;
        }
        else if (cumulativeAdvanced)
        {
            _t3 = now + _rto;
        }

        if (_peerSupportsForwardTsn)
        {
            UpdateAdvancedPeerAckPoint();
        }

        CheckShutdownProgress(now);
    }

    private long Acknowledge(OutboundChunk chunk, ref TimeSpan? rttSample, TimeSpan now)
    {
        if (chunk.GapAcked || chunk.Abandoned)
        {
            return 0;
        }

        if (chunk.InFlight)
        {
            chunk.InFlight = false;
            _flight -= chunk.Length;
        }

        chunk.MarkedForRetransmit = false;

        // RFC 9260 §6.3.1 C3 (Karn): only the timed chunk, sent once, gives an RTT sample.
        if (chunk == _rttProbe)
        {
            if (chunk.TransmitCount == 1)
            {
                rttSample = now - chunk.SentAt;
            }

            _rttProbe = null;
        }

        return chunk.Length;
    }

    /// <summary>
    /// RFC 9260 §7.2.4 miss counting (HTNA), with two refinements. A retransmitted chunk only misses when something sent
    /// after its last transmission was acknowledged, so SACKs for data that was already on the wire before it do not
    /// fast-retransmit it again, needlessly, one round trip later. And a chunk sent once is also lost when at least
    /// <see cref="LossByteThreshold"/> bytes above it are gap-acknowledged, as RFC 6675's IsLost() for TCP: our
    /// receivers answer a burst of packets with one SACK, so three miss reports can take three round trips, where the
    /// RFC's count assumes a SACK every second packet.
    /// </summary>
    private void MarkMisses(uint highestNewlyAcked, TimeSpan newestAckedSentAt, TimeSpan now)
    {
        long sackedAbove = 0;
        for (var i = 0; i < _outstanding.Count; i++)
        {
            var chunk = _outstanding[i];
            if (!SerialNumber.LessOrEqual(chunk.Tsn, highestNewlyAcked))
            {
                break;
            }

            if (chunk.GapAcked)
            {
                sackedAbove += chunk.Length;
            }
        }

        var marked = false;
        for (var i = 0; i < _outstanding.Count; i++)
        {
            var chunk = _outstanding[i];
            if (!SerialNumber.Less(chunk.Tsn, highestNewlyAcked))
            {
                break;
            }

            if (chunk.GapAcked)
            {
                sackedAbove -= chunk.Length;
                continue;
            }

            if (chunk.Abandoned || chunk.MarkedForRetransmit || !chunk.InFlight || (chunk.TransmitCount > 1 && chunk.SentAt >= newestAckedSentAt))
            {
                continue;
            }

            if (++chunk.MissReports < 3 && (chunk.TransmitCount > 1 || sackedAbove < LossByteThreshold))
            {
                continue;
            }

            if (ShouldAbandon(chunk, now))
            {
                AbandonMessage(chunk.Message);
                continue;
            }

            // RFC 9260 §7.2.4: the third miss report triggers a fast retransmit.
            chunk.MarkedForRetransmit = true;
            chunk.InFlight = false;
            _flight -= chunk.Length;
            _retransmitQueue.Enqueue(chunk);
            FastRetransmits++;
            marked = true;
        }

        if (marked && !_fastRecovery)
        {
            // RFC 9260 §7.2.4 step 2: reduce the window once per recovery (halve it, or see SctpCongestionControl.Veno)
            // and remember where recovery ends.
            _ssthresh = Math.Max(ReducedWindowAfterLoss(), 4L * _mtu);
            _cwnd = _ssthresh;
            _partialBytesAcked = 0;
            _fastRecovery = true;
            _fastRecoveryExit = _nextTsn - 1;
            _fastRetransmitPending = true;
        }
    }

    private void GrowCongestionWindow(long newlyAcked, long flightBefore, TimeSpan now)
    {
        if (_options.QueueDelayTarget is { } target && QueueDelay() is { } queued && queued > target)
        {
            _roundAcked += newlyAcked;
            if (_roundAcked >= _roundLength)
            {
                // The end of a round with a standing queue: the rate cwnd / RTT at the RTT the target allows.
                var baseRtt = BaseRtt();
                var rtt = baseRtt + queued;
                var allowed = (long)(_cwnd * ((baseRtt + target).Ticks / (double)rtt.Ticks));
                _cwnd = Math.Max(Math.Max(allowed, _cwnd / 2), 4L * _mtu);
                _ssthresh = _cwnd;
                _partialBytesAcked = 0;
                _roundAcked = 0;
                _roundLength = _cwnd;
                QueueDelayCuts++;

                // Judge the next round by chunks sent after this cut only: older samples still carry the old queue.
                _recentRttCount = 0;
                _lastQueueDelayCut = now;
            }

            // Above the target the window holds; more would only lengthen the queue.
            return;
        }

        _roundAcked += newlyAcked;
        if (_roundAcked >= _roundLength)
        {
            _roundAcked = 0;
            _roundLength = _cwnd;
        }

        // The window only grows when it was being used (RFC 9260 §7.2.1/§7.2.2); "used" allows one MTU of slack.
        var fullyUsed = flightBefore + _mtu > _cwnd;
        if (_cwnd <= _ssthresh)
        {
            // RFC 9260 §7.2.1: slow start adds at most one MTU per SACK. Our receivers answer a burst with one SACK
            // where the RFC's sender expects one every second packet (§6.2), which would make slow start linear; a SACK
            // covering more than two MTUs adds half of what it acknowledges, as that many SACKs would have — but what
            // it adds beyond the RFC's one MTU stops at ssthresh: the SACK that ends a fast recovery acknowledges about
            // a window at once and would otherwise undo half of the reduction it follows.
            if (fullyUsed)
            {
                var rfc = Math.Min(newlyAcked, _mtu);
                var extra = newlyAcked <= 2L * _mtu ? 0 : (newlyAcked / 2) - rfc;
                _cwnd += rfc + Math.Min(extra, Math.Max(0, _ssthresh - _cwnd - rfc));
            }
        }
        else
        {
            // RFC 9260 §7.2.2: congestion avoidance adds one MTU per window of acknowledged bytes; Veno skips every
            // other increase while a queue stands.
            _partialBytesAcked += newlyAcked;
            if (_partialBytesAcked >= _cwnd && fullyUsed)
            {
                _partialBytesAcked -= _cwnd;
                var skip = _options.CongestionControl == SctpCongestionControl.Veno && QueueBacklog() >= VenoBacklogThreshold && !_slowGrowthRound;
                _slowGrowthRound = skip;
                if (!skip)
                {
                    _cwnd += _mtu;
                }
            }

            if (_flight == 0)
            {
                _partialBytesAcked = 0;
            }
        }
    }

    /// <summary>Gap-acknowledged bytes above a chunk sent once that prove it lost: six full packets, what three SACKs
    /// of two packets each would have reported.</summary>
    private long LossByteThreshold => 6L * _mtu;

    /// <summary>Veno's β: a backlog of fewer bytes than three full packets is no standing queue.</summary>
    private long VenoBacklogThreshold => 3L * _mtu;

    /// <summary>What the window becomes after a fast-retransmit loss event (before the 4 MTU floor).</summary>
    private long ReducedWindowAfterLoss()
    {
        if (_options.CongestionControl == SctpCongestionControl.Veno && QueueBacklog() < VenoBacklogThreshold)
        {
            RandomLossEvents++;
            return _cwnd * 4 / 5;
        }

        CongestionLossEvents++;
        return _cwnd / 2;
    }

    /// <summary>The smallest of the last four RTT samples minus the base RTT; null until both are known.</summary>
    private TimeSpan? QueueDelay()
    {
        var baseRtt = BaseRtt();
        if (_recentRttCount == 0 || baseRtt == TimeSpan.MaxValue)
        {
            return null;
        }

        var recent = TimeSpan.MaxValue;
        for (var i = 0; i < _recentRttCount; i++)
        {
            recent = _recentRtts[i] < recent ? _recentRtts[i] : recent;
        }

        return recent - baseRtt;
    }

    private TimeSpan BaseRtt() => _baseRttCurrent < _baseRttPrevious ? _baseRttCurrent : _baseRttPrevious;

    /// <summary>Veno's backlog estimate in bytes, <c>cwnd × (RTT − base RTT) / RTT</c>; large when nothing was measured.</summary>
    private long QueueBacklog()
    {
        var baseRtt = BaseRtt();
        if (_latestRtt <= TimeSpan.Zero || baseRtt == TimeSpan.MaxValue)
        {
            return long.MaxValue;
        }

        var queued = _latestRtt - baseRtt;
        return queued <= TimeSpan.Zero ? 0 : (long)(_cwnd * (queued.Ticks / (double)_latestRtt.Ticks));
    }

    private void TrackBaseRtt(TimeSpan rtt, TimeSpan now)
    {
        if (_baseRttBucketStart == TimeSpan.MinValue || now - _baseRttBucketStart >= BaseRttBucket)
        {
            // After a silence of two buckets or more the current bucket is older than 30 s too.
            var stale = _baseRttBucketStart == TimeSpan.MinValue || now - _baseRttBucketStart >= 2 * BaseRttBucket;
            _baseRttPrevious = stale ? TimeSpan.MaxValue : _baseRttCurrent;
            _baseRttCurrent = TimeSpan.MaxValue;
            _baseRttBucketStart = now;
        }

        if (now - rtt >= _lastQueueDelayCut)
        {
            _recentRtts[_recentRttNext] = rtt;
            _recentRttNext = (_recentRttNext + 1) % _recentRtts.Length;
            _recentRttCount = Math.Min(_recentRttCount + 1, _recentRtts.Length);
        }

        if (rtt < _baseRttCurrent)
        {
            _baseRttCurrent = rtt;
        }
    }

    private void OnT3Expired(TimeSpan now)
    {
        _t3 = Never;
        if (_outstanding.Count == 0 || State == SctpAssociationState.Closed)
        {
            return;
        }

        RetransmissionTimeouts++;
        if (!CountError("Data went unacknowledged past Association.Max.Retrans."))
        {
            return;
        }

        // RFC 9260 §6.3.3 E1/E2 and §7.2.3: collapse cwnd to one MTU, back off, retransmit everything unacked.
        _ssthresh = Math.Max(_cwnd / 2, 4L * _mtu);
        _cwnd = _mtu;
        _partialBytesAcked = 0;
        _fastRecovery = false;
        _fastRetransmitPending = false;
        _rttProbe = null;
        BackOffRto();
        for (var i = 0; i < _outstanding.Count; i++)
        {
            var chunk = _outstanding[i];
            if (chunk.GapAcked || chunk.Abandoned)
            {
                continue;
            }

            if (ShouldAbandon(chunk, now))
            {
                AbandonMessage(chunk.Message);
                continue;
            }

            if (chunk.InFlight)
            {
                chunk.InFlight = false;
                _flight -= chunk.Length;
            }

            if (!chunk.MarkedForRetransmit)
            {
                chunk.MarkedForRetransmit = true;
                _retransmitQueue.Enqueue(chunk);
            }
        }

        // The queue may hold chunks marked earlier behind ones marked now; retransmit in TSN order.
        if (_retransmitQueue.Count > 1)
        {
            var ordered = _retransmitQueue.Where(c => c.MarkedForRetransmit).Distinct().OrderBy(c => c.Tsn - _cumAckPoint).ToList();
            _retransmitQueue.Clear();
            foreach (var c in ordered)
            {
                _retransmitQueue.Enqueue(c);
            }
        }

        UpdateAdvancedPeerAckPoint();
        _t3 = now + _rto;
    }
}
