using System.Buffers.Binary;
using Messenger.Transport.Sctp.Chunks;

namespace Messenger.Transport.Sctp;

/// <summary>The receiving half: TSN tracking, reassembly, delayed SACK and FORWARD-TSN.</summary>
public sealed partial class SctpAssociation
{
    private const int MaxDuplicatesReported = 16;
    private const int MaxGapBlocks = 64;

    private readonly ReassemblyQueue _reassembly;
    private readonly List<uint> _duplicates = [];
    private TsnTracker? _tsnTracker;
    private bool _ackPending;
    private bool _sackImmediate;
    private bool _dataInPacket;
    private int _packetsSinceSack;
    private long _unconsumedBytes;
    private long _lastAdvertisedWindow;

    /// <summary>Fragments and out-of-order messages held for reassembly; zero when nothing is pending.</summary>
    public int PendingReassemblyFragments => _reassembly.PendingFragments;

    public int PendingOrderedMessages => _reassembly.PendingOrderedMessages;

    /// <summary>Bytes of delivered messages the owner has not yet reported read with <see cref="MarkConsumed"/>.</summary>
    public long UnconsumedBytes => _unconsumedBytes;

    // What we may advertise: the window minus data held for reassembly and messages the application has not read.
    private long AvailableWindow => Math.Max(0, _options.ReceiveWindow - _reassembly.BufferedBytes - _unconsumedBytes);

    /// <summary>
    /// Reports that the application has taken <paramref name="bytes"/> of received messages, which reopens the
    /// advertised receive window: a slow reader thereby slows the sender instead of piling up memory. The owner
    /// must call it for every <see cref="SctpEventKind.MessageReceived"/>, at once if it does not queue messages.
    /// </summary>
    public void MarkConsumed(long bytes)
    {
        _unconsumedBytes = Math.Max(0, _unconsumedBytes - bytes);

        // RFC 9260 §6.2: once the window has opened noticeably since the last SACK, tell a held-back sender now.
        if (_tsnTracker is not null && AvailableWindow - _lastAdvertisedWindow >= Math.Min(_options.ReceiveWindow / 2, 64 * 1024))
        {
            _ackPending = true;
            _sackImmediate = true;
        }
    }

    private void OnMessageReassembled(ushort streamId, uint ppid, InboundMessage message)
    {
        _unconsumedBytes += message.Length;
        _events.Enqueue(new SctpEvent(SctpEventKind.MessageReceived, streamId, ppid, Message: message));
    }

    private void OnData(byte flags, ReadOnlySpan<byte> value)
    {
        if (value.Length < 12)
        {
            throw new SctpParseException($"DATA is {value.Length} bytes, needs 12.");
        }

        if (_tsnTracker is null || State is not (SctpAssociationState.Established or SctpAssociationState.ShutdownPending or SctpAssociationState.ShutdownSent))
        {
            return;
        }

        if (value.Length == 12)
        {
            // RFC 9260 §6.2: DATA without user data is answered with an ABORT.
            _control.Enqueue((_peerTag, CauseListChunk.Abort(CauseListChunk.NoUserData, "DATA chunk without user data")));
            EnterClosed(SctpEventKind.Aborted, "The peer sent a DATA chunk without user data.");
            return;
        }

        var tsn = BinaryPrimitives.ReadUInt32BigEndian(value);
        _ackPending = true;
        _dataInPacket = true;
        if (_tsnTracker.IsReceived(tsn))
        {
            // RFC 9260 §6.2: report duplicates and SACK at once.
            if (_duplicates.Count < MaxDuplicatesReported)
            {
                _duplicates.Add(tsn);
            }

            _sackImmediate = true;
            return;
        }

        var payload = value[12..];

        // RFC 9260 §6.2: with no buffer left, drop DATA beyond the next expected TSN; it will be retransmitted.
        // The next expected TSN is still taken when full, so held data can always complete; a peer ignoring our
        // window cannot push memory past the window plus one maximal message.
        var buffered = _reassembly.BufferedBytes + _unconsumedBytes + payload.Length;
        var full = (buffered > _options.ReceiveWindow && tsn != _tsnTracker.CumulativeTsn + 1) ||
            buffered > _options.ReceiveWindow + _options.MaxReceiveMessageSize;
        if (!_tsnTracker.InWindow(tsn) || full)
        {
            _sackImmediate = true;
            return;
        }

        _tsnTracker.Add(tsn);
        var streamId = BinaryPrimitives.ReadUInt16BigEndian(value[4..]);
        var ssn = BinaryPrimitives.ReadUInt16BigEndian(value[6..]);
        var ppid = BinaryPrimitives.ReadUInt32BigEndian(value[8..]);
        if (!_reassembly.Add(tsn, flags, streamId, ssn, ppid, payload))
        {
            // Never a silent wedge: a message we cannot take ends the association, and both sides are told why.
            Abort($"The peer sent a message larger than {_options.MaxReceiveMessageSize} bytes (our a=max-message-size) on stream {streamId}.");
        }
    }

    private void OnForwardTsn(ForwardTsnChunk forward)
    {
        if (_tsnTracker is null || State is not (SctpAssociationState.Established or SctpAssociationState.ShutdownPending or SctpAssociationState.ShutdownSent))
        {
            return;
        }

        // RFC 3758 §3.6: an old FORWARD-TSN only needs a SACK; a new one moves the cumulative TSN.
        _ackPending = true;
        _sackImmediate = true;
        if (SerialNumber.Greater(forward.NewCumulativeTsn, _tsnTracker.CumulativeTsn))
        {
            _tsnTracker.ForwardTo(forward.NewCumulativeTsn);
            _reassembly.Forward(forward.NewCumulativeTsn, forward.Streams);
        }
    }

    private void AfterReceive(TimeSpan now)
    {
        if (_dataInPacket)
        {
            _dataInPacket = false;

            // RFC 9260 §6.2: SACK every second packet, at once when there are gaps, else within the delayed-ack time.
            if (++_packetsSinceSack >= 2 || (_tsnTracker?.HasGaps ?? false))
            {
                _sackImmediate = true;
            }
            else if (_delayedAck == Never)
            {
                _delayedAck = now + _options.DelayedAckTimeout;
            }
        }

        TryPerformDeferredReset();
        if (State is SctpAssociationState.ShutdownPending or SctpAssociationState.ShutdownReceived)
        {
            CheckShutdownProgress(now);
        }
    }

    private int WriteSack(Span<byte> packet, int offset)
    {
        var tracker = _tsnTracker!;
        Span<(ushort Start, ushort End)> blocks = stackalloc (ushort, ushort)[MaxGapBlocks];
        var room = (_mtu - offset - 16) / 4;
        var gapCount = tracker.GetGapBlocks(blocks[..Math.Clamp(room, 0, MaxGapBlocks)]);
        var dupCount = Math.Min(_duplicates.Count, Math.Max(0, room - gapCount));
        var length = 16 + (4 * (gapCount + dupCount));
        var d = packet[offset..];
        d[0] = (byte)ChunkType.Sack;
        d[1] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(d[2..], (ushort)length);
        BinaryPrimitives.WriteUInt32BigEndian(d[4..], tracker.CumulativeTsn);
        var window = AvailableWindow;
        _lastAdvertisedWindow = window;
        BinaryPrimitives.WriteUInt32BigEndian(d[8..], (uint)window);
        BinaryPrimitives.WriteUInt16BigEndian(d[12..], (ushort)gapCount);
        BinaryPrimitives.WriteUInt16BigEndian(d[14..], (ushort)dupCount);
        var o = 16;
        for (var i = 0; i < gapCount; i++, o += 4)
        {
            BinaryPrimitives.WriteUInt16BigEndian(d[o..], blocks[i].Start);
            BinaryPrimitives.WriteUInt16BigEndian(d[(o + 2)..], blocks[i].End);
        }

        for (var i = 0; i < dupCount; i++, o += 4)
        {
            BinaryPrimitives.WriteUInt32BigEndian(d[o..], _duplicates[i]);
        }

        _duplicates.Clear();
        _ackPending = false;
        _sackImmediate = false;
        _packetsSinceSack = 0;
        _delayedAck = Never;
        return offset + length;
    }

    /// <summary>
    /// Writes the next packet to send into <paramref name="buffer"/> (at least the MTU long) and returns its length,
    /// or 0 when there is nothing to send now. Call until it returns 0.
    /// </summary>
    public int PollPacket(Span<byte> buffer, TimeSpan now)
    {
        if (buffer.Length < _mtu)
        {
            throw new ArgumentException($"The buffer must hold at least the MTU of {_mtu} bytes.", nameof(buffer));
        }

        var offset = SctpPacket.CommonHeaderLength;
        uint tag = _peerTag;
        if (_control.TryPeek(out var first))
        {
            // RFC 9260 §6.10: INIT, INIT-ACK and SHUTDOWN-COMPLETE travel alone, as does anything with another tag.
            if (first.Chunk.Type is ChunkType.Init or ChunkType.InitAck or ChunkType.ShutdownComplete || first.Tag != _peerTag || _peerTag == 0)
            {
                _control.Dequeue();
                offset += first.Chunk.WriteTo(buffer[offset..]);
                return Finish(buffer, offset, first.Tag);
            }

            while (_control.TryPeek(out var next) && next.Tag == _peerTag &&
                next.Chunk.Type is not (ChunkType.Init or ChunkType.InitAck or ChunkType.ShutdownComplete) &&
                next.Chunk.PaddedLength <= _mtu - offset)
            {
                _control.Dequeue();
                offset += next.Chunk.WriteTo(buffer[offset..]);
            }
        }

        if (_tsnTracker is null || State is SctpAssociationState.Closed)
        {
            return offset == SctpPacket.CommonHeaderLength ? 0 : Finish(buffer, offset, tag);
        }

        var canSendData = State is SctpAssociationState.Established or SctpAssociationState.ShutdownPending or SctpAssociationState.ShutdownReceived;
        if (_ackPending && (_sackImmediate || now >= _delayedAck || (canSendData && HasDataToSend())))
        {
            offset = WriteSack(buffer, offset);
        }

        if (canSendData)
        {
            offset = WriteForwardTsn(buffer, offset);
            offset = WriteReConfig(buffer, offset, now);
            offset = WriteRetransmissions(buffer, offset, now);
            offset = WriteNewData(buffer, offset, now);
        }

        if (_heartbeatDue && _mtu - offset >= 24)
        {
            _heartbeatDue = false;
            var info = new byte[16];
            BinaryPrimitives.WriteInt64BigEndian(info, now.Ticks);
            BinaryPrimitives.WriteUInt64BigEndian(info.AsSpan(8), _heartbeatNonce);
            offset += new HeartbeatChunk { Parameters = [new SctpParameter(HeartbeatChunk.InfoParameter, info)] }.WriteTo(buffer[offset..]);
        }

        return offset == SctpPacket.CommonHeaderLength ? 0 : Finish(buffer, offset, tag);
    }

    private bool HasDataToSend() =>
        _retransmitQueue.Count > 0 || ((_current is not null || _scheduler.Count > 0) && _flight < _cwnd);

    private int Finish(Span<byte> buffer, int length, uint tag)
    {
        SctpPacket.WriteCommonHeader(buffer, _options.LocalPort, _options.RemotePort, tag);
        Crc32C.StampPacket(buffer[..length]);
        return length;
    }
}
