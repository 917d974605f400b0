using Messenger.Transport.Sctp.Chunks;

namespace Messenger.Transport.Sctp;

/// <summary>Stream reset (RFC 6525) and graceful shutdown (RFC 9260 §9.2).</summary>
public sealed partial class SctpAssociation
{
    private readonly List<ushort> _resetQueue = [];
    private OutgoingResetRequest? _pendingResetRequest;
    private bool _reconfigRequestDue;
    private uint _nextRequestSequence;
    private uint _peerNextRequestSequence;
    private ReConfigResult _lastIncomingResult = ReConfigResult.SuccessNothingToDo;
    private OutgoingResetRequest? _deferredIncomingRequest;
    private SctpParameter? _reconfigResponse;

    /// <summary>
    /// Asks to restart the SSNs of our outgoing <paramref name="streamIds"/> (RFC 6525 §5.1.2), after the messages
    /// already queued on them are sent. <see cref="SctpEventKind.OutgoingStreamsReset"/> reports completion.
    /// </summary>
    public void ResetStreams(ReadOnlySpan<ushort> streamIds)
    {
        if (State != SctpAssociationState.Established)
        {
            throw new InvalidOperationException($"Cannot reset streams while the association is {State}.");
        }

        foreach (var id in streamIds)
        {
            if (!_resetQueue.Contains(id))
            {
                _resetQueue.Add(id);
            }
        }
    }

    internal uint NextRequestSequence => _nextRequestSequence;

    private bool IsResetInFlight(ushort streamId) => _pendingResetRequest is { } r && Array.IndexOf(r.Streams, streamId) >= 0;

    private void StartResetIfReady(TimeSpan now)
    {
        if (_pendingResetRequest is not null || _resetQueue.Count == 0)
        {
            return;
        }

        // A stream is reset only once everything queued on it has a TSN (RFC 6525 §5.1.2: Sender's Last Assigned TSN).
        var ready = _resetQueue.FindAll(id =>
            (!_outStreams.TryGetValue(id, out var s) || s.Queue.Count == 0) && _current?.StreamId != id);
        if (ready.Count == 0)
        {
            return;
        }

        if (!_peerSupportsReConfig)
        {
            foreach (var id in ready)
            {
                _resetQueue.Remove(id);
            }

            _events.Enqueue(new SctpEvent(SctpEventKind.OutgoingStreamsReset, Streams: [.. ready], Reason: "The peer does not support RE-CONFIG."));
            return;
        }

        _resetQueue.RemoveAll(ready.Contains);
        _pendingResetRequest = new OutgoingResetRequest(_nextRequestSequence, _peerNextRequestSequence - 1, _nextTsn - 1, [.. ready]);
        _reconfigRequestDue = true;
        _reconfigTimer = now + _rto;
    }

    private int WriteReConfig(Span<byte> packet, int offset, TimeSpan now)
    {
        StartResetIfReady(now);
        if (_reconfigResponse is null && !_reconfigRequestDue)
        {
            return offset;
        }

        var parameters = new List<SctpParameter>(2);
        if (_reconfigResponse is not null)
        {
            parameters.Add(_reconfigResponse);
        }

        if (_reconfigRequestDue && _pendingResetRequest is not null)
        {
            parameters.Add(_pendingResetRequest.ToParameter());
        }

        var chunk = new ReConfigChunk(parameters);
        if (parameters.Count == 0 || chunk.PaddedLength > _mtu - offset)
        {
            return offset;
        }

        _reconfigResponse = null;
        if (_reconfigRequestDue)
        {
            _reconfigRequestDue = false;
            _reconfigTimer = now + _rto;
        }

        return offset + chunk.WriteTo(packet[offset..]);
    }

    private void OnReConfig(ReConfigChunk chunk, TimeSpan now)
    {
        if (_tsnTracker is null || State is SctpAssociationState.Closed or SctpAssociationState.CookieWait or SctpAssociationState.CookieEchoed)
        {
            return;
        }

        foreach (var parameter in chunk.Parameters)
        {
            switch (parameter.Type)
            {
                case OutgoingResetRequest.ParameterType:
                    OnIncomingResetRequest(OutgoingResetRequest.Parse(parameter));
                    break;
                case ReConfigResponse.ParameterType:
                    OnReConfigResponse(ReConfigResponse.Parse(parameter), now);
                    break;
                case IncomingResetRequest.ParameterType:
                    OnIncomingResetRequestParameter(IncomingResetRequest.Parse(parameter));
                    break;
                case 15 or 17 or 18 when parameter.Value.Length >= 4:
                    // RFC 6525 §4.2-4.6 requests we do not implement are denied, keeping the sequence in step.
                    var sequence = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(parameter.Value);
                    if (sequence == _peerNextRequestSequence)
                    {
                        _peerNextRequestSequence++;
                        _lastIncomingResult = ReConfigResult.Denied;
                    }

                    _reconfigResponse = new ReConfigResponse(sequence, ReConfigResult.Denied).ToParameter();
                    break;
                default:
                    break;
            }
        }
    }

    private void OnIncomingResetRequest(OutgoingResetRequest request)
    {
        ReConfigResult result;
        if (request.RequestSequence == _peerNextRequestSequence)
        {
            if (SerialNumber.LessOrEqual(request.SenderLastTsn, _tsnTracker!.CumulativeTsn))
            {
                PerformIncomingReset(request);
                result = ReConfigResult.SuccessPerformed;
            }
            else
            {
                // RFC 6525 §5.2.2: data up to the sender's last TSN is still missing; reset once it has arrived.
                _deferredIncomingRequest = request;
                result = ReConfigResult.InProgress;
            }
        }
        else if (request.RequestSequence == _peerNextRequestSequence - 1)
        {
            // RFC 6525 §5.2.1: a retransmitted request gets the same answer again.
            result = _lastIncomingResult;
        }
        else
        {
            result = ReConfigResult.ErrorBadSequenceNumber;
        }

        _reconfigResponse = new ReConfigResponse(request.RequestSequence, result).ToParameter();
    }

    private void OnIncomingResetRequestParameter(IncomingResetRequest request)
    {
        if (request.RequestSequence == _peerNextRequestSequence)
        {
            // RFC 6525 §5.2.3: the answer is our own Outgoing SSN Reset Request, whose response sequence names this one.
            _peerNextRequestSequence++;
            _lastIncomingResult = ReConfigResult.SuccessPerformed;
            var streams = request.Streams.Length > 0 ? request.Streams : [.. _outStreams.Keys];
            foreach (var id in streams)
            {
                if (!_resetQueue.Contains(id))
                {
                    _resetQueue.Add(id);
                }
            }

            if (streams.Length == 0)
            {
                _reconfigResponse = new ReConfigResponse(request.RequestSequence, ReConfigResult.SuccessNothingToDo).ToParameter();
            }
        }
        else if (request.RequestSequence != _peerNextRequestSequence - 1)
        {
            _reconfigResponse = new ReConfigResponse(request.RequestSequence, ReConfigResult.ErrorBadSequenceNumber).ToParameter();
        }
    }

    private void TryPerformDeferredReset()
    {
        if (_deferredIncomingRequest is { } request && _tsnTracker is not null &&
            SerialNumber.LessOrEqual(request.SenderLastTsn, _tsnTracker.CumulativeTsn))
        {
            PerformIncomingReset(request);
        }
    }

    private void PerformIncomingReset(OutgoingResetRequest request)
    {
        _deferredIncomingRequest = null;
        _peerNextRequestSequence = request.RequestSequence + 1;
        _lastIncomingResult = ReConfigResult.SuccessPerformed;
        foreach (var id in request.Streams)
        {
            _reassembly.ResetStream(id);
        }

        _events.Enqueue(new SctpEvent(SctpEventKind.IncomingStreamsReset, Streams: request.Streams));
    }

    private void OnReConfigResponse(ReConfigResponse response, TimeSpan now)
    {
        if (_pendingResetRequest is not { } request || response.ResponseSequence != request.RequestSequence)
        {
            return;
        }

        switch (response.Result)
        {
            case ReConfigResult.SuccessPerformed or ReConfigResult.SuccessNothingToDo:
                // RFC 6525 §5.2.7: the streams restart at SSN 0.
                foreach (var id in request.Streams)
                {
                    if (_outStreams.TryGetValue(id, out var stream))
                    {
                        stream.NextSsn = 0;
                    }
                }

                FinishResetRequest(now);
                _events.Enqueue(new SctpEvent(SctpEventKind.OutgoingStreamsReset, Streams: request.Streams));
                break;
            case ReConfigResult.InProgress:
                _reconfigTimer = now + _rto;
                break;
            default:
                FinishResetRequest(now);
                _events.Enqueue(new SctpEvent(SctpEventKind.ErrorReceived, Streams: request.Streams, Reason: $"The peer refused a stream reset: {response.Result}."));
                break;
        }
    }

    private void FinishResetRequest(TimeSpan now)
    {
        var streams = _pendingResetRequest!.Streams;
        _pendingResetRequest = null;
        _reconfigRequestDue = false;
        _reconfigTimer = Never;
        _nextRequestSequence++;
        foreach (var id in streams)
        {
            if (_outStreams.TryGetValue(id, out var stream))
            {
                if (stream.Queue.Count == 0)
                {
                    _outStreams.Remove(id);
                }
                else
                {
                    Schedule(stream);
                }
            }
        }

        StartResetIfReady(now);
    }

    private void CheckShutdownProgress(TimeSpan now)
    {
        var drained = _outstanding.Count == 0 && QueuedBytes == 0 && _current is null;
        if (!drained)
        {
            return;
        }

        if (State == SctpAssociationState.ShutdownPending)
        {
            // RFC 9260 §9.2: with all data acknowledged, send SHUTDOWN and start T2.
            State = SctpAssociationState.ShutdownSent;
            SendShutdown(now);
        }
        else if (State == SctpAssociationState.ShutdownReceived)
        {
            State = SctpAssociationState.ShutdownAckSent;
            _control.Enqueue((_peerTag, new EmptyChunk(ChunkType.ShutdownAck)));
            _t2 = now + _rto;
        }
    }

    private void SendShutdown(TimeSpan now)
    {
        _control.Enqueue((_peerTag, new ShutdownChunk(_tsnTracker!.CumulativeTsn)));
        _t2 = now + _rto;
    }

    private void OnShutdown(ShutdownChunk shutdown, TimeSpan now)
    {
        if (_tsnTracker is null)
        {
            return;
        }

        // RFC 9260 §9.2: the SHUTDOWN's cumulative TSN ack acknowledges our data like a SACK would.
        if (SerialNumber.GreaterOrEqual(shutdown.CumulativeTsnAck, _cumAckPoint) && SerialNumber.Less(shutdown.CumulativeTsnAck, _nextTsn))
        {
            OnSack(shutdown.CumulativeTsnAck, (uint)Math.Min(uint.MaxValue, _peerRwnd + _flight), [], now);
        }

        switch (State)
        {
            case SctpAssociationState.Established or SctpAssociationState.ShutdownPending:
                State = SctpAssociationState.ShutdownReceived;
                _sackImmediate = _ackPending;
                CheckShutdownProgress(now);
                break;
            case SctpAssociationState.ShutdownSent:
                // RFC 9260 §9.2: both sides shut down at once; answer with SHUTDOWN-ACK.
                State = SctpAssociationState.ShutdownAckSent;
                _control.Enqueue((_peerTag, new EmptyChunk(ChunkType.ShutdownAck)));
                _t2 = now + _rto;
                break;
            default:
                break;
        }
    }

    private void OnShutdownAck()
    {
        if (State is SctpAssociationState.ShutdownSent or SctpAssociationState.ShutdownAckSent)
        {
            // RFC 9260 §9.2: SHUTDOWN-COMPLETE ends it; our tag is known, so the T bit stays clear.
            _control.Enqueue((_peerTag, new EmptyChunk(ChunkType.ShutdownComplete)));
            EnterClosed(SctpEventKind.Closed, "The association was shut down.");
        }
    }

    private void OnShutdownComplete()
    {
        if (State == SctpAssociationState.ShutdownAckSent)
        {
            EnterClosed(SctpEventKind.Closed, "The association was shut down.");
        }
    }

    private void OnT2Expired(TimeSpan now)
    {
        _t2 = Never;
        if (!CountError("The peer did not complete the shutdown."))
        {
            return;
        }

        BackOffRto();
        if (State == SctpAssociationState.ShutdownSent)
        {
            SendShutdown(now);
        }
        else if (State == SctpAssociationState.ShutdownAckSent)
        {
            _control.Enqueue((_peerTag, new EmptyChunk(ChunkType.ShutdownAck)));
            _t2 = now + _rto;
        }
    }
}
