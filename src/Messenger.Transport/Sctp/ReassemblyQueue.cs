using System.Buffers;
using Messenger.Transport.Sctp.Chunks;

namespace Messenger.Transport.Sctp;

/// <summary>
/// Turns received DATA chunks into user messages: joins fragments (B/E bits, consecutive TSNs per RFC 9260 §6.9)
/// and releases ordered messages in SSN order per stream, unordered ones at once (§6.6).
/// </summary>
internal sealed class ReassemblyQueue(Action<ushort, uint, InboundMessage> deliver, int maxMessageSize = 0)
{
    private readonly Dictionary<uint, Fragment> _fragments = [];
    private readonly Dictionary<ushort, InboundStream> _streams = [];
    private readonly Action<ushort, uint, InboundMessage> _deliver = deliver;

    /// <summary>Bytes held here: fragments and complete ordered messages waiting for an earlier SSN.</summary>
    public long BufferedBytes { get; private set; }

    public int PendingFragments => _fragments.Count;

    public int StreamCount => _streams.Count;

    public int PendingOrderedMessages
    {
        get
        {
            var count = 0;
            foreach (var s in _streams.Values)
            {
                count += s.Ready.Count;
            }

            return count;
        }
    }

    internal string DebugState =>
        string.Join(" ", _fragments.Select(f => $"frag tsn {f.Key} sid {f.Value.StreamId} ssn {f.Value.Ssn} flags {f.Value.Flags};")) +
        string.Join(" ", _streams.Select(s => $"stream {s.Key} next {s.Value.NextSsn} ready [{string.Join(",", s.Value.Ready.Keys)}];"));

    /// <summary>
    /// Accepts one new (not duplicate) DATA chunk. Returns false, keeping nothing of it, when it makes a message
    /// larger than the largest we accept: the fragments of the message before it, counted back to its first fragment
    /// as far as they are here (in order, as a message is sent, all of them), already hold that many bytes. Such a
    /// message could never be delivered and would fill the receive window for good.
    /// </summary>
    public bool Add(uint tsn, byte flags, ushort streamId, ushort ssn, uint ppid, ReadOnlySpan<byte> payload)
    {
        var unordered = (flags & DataChunk.UnorderedFlag) != 0;
        if ((flags & (DataChunk.BeginFlag | DataChunk.EndFlag)) == (DataChunk.BeginFlag | DataChunk.EndFlag))
        {
            if (maxMessageSize > 0 && payload.Length > maxMessageSize)
            {
                return false;
            }

            Complete(streamId, ssn, ppid, unordered, InboundMessage.Copy(payload));
            return true;
        }

        // The bytes of this message so far: the fragment before it (when here and of the same message) knows its own.
        var runBytes = (long)payload.Length;
        if ((flags & DataChunk.BeginFlag) == 0 && _fragments.TryGetValue(tsn - 1, out var previous) && SameMessage(previous, streamId, ssn, unordered)
            && (previous.Flags & DataChunk.EndFlag) == 0)
        {
            runBytes += previous.RunBytes;
        }

        if (maxMessageSize > 0 && runBytes > maxMessageSize)
        {
            return false;
        }

        var buffer = MessagePool.Shared.Rent(Math.Max(payload.Length, 1));
        payload.CopyTo(buffer);
        _fragments[tsn] = new Fragment(streamId, ssn, ppid, flags, buffer, payload.Length, runBytes);
        BufferedBytes += payload.Length;
        TryAssemble(tsn, streamId, ssn, unordered);
        return true;
    }

    private void TryAssemble(uint tsn, ushort streamId, ushort ssn, bool unordered)
    {
        // Walk forward to the E fragment first: with in-order arrival the hole right after us ends the check at once.
        var last = tsn;
        while ((_fragments[last].Flags & DataChunk.EndFlag) == 0)
        {
            if (!_fragments.TryGetValue(last + 1, out var next) || !SameMessage(next, streamId, ssn, unordered) ||
                (next.Flags & DataChunk.BeginFlag) != 0)
            {
                return;
            }

            last++;
        }

        var first = tsn;
        while ((_fragments[first].Flags & DataChunk.BeginFlag) == 0)
        {
            if (!_fragments.TryGetValue(first - 1, out var previous) || !SameMessage(previous, streamId, ssn, unordered))
            {
                return;
            }

            first--;
        }

        int total;
        total = 0;
        for (var t = first; t != last + 1; t++)
        {
            total += _fragments[t].Length;
        }

        var message = MessagePool.Shared.Rent(Math.Max(1, total));
        var offset = 0;
        var ppid = _fragments[first].Ppid;
        for (var t = first; t != last + 1; t++)
        {
            var f = _fragments[t];
            f.Buffer.AsSpan(0, f.Length).CopyTo(message.AsSpan(offset));
            offset += f.Length;
            Release(t, f);
        }

        Complete(streamId, ssn, ppid, unordered, new InboundMessage(message, total));
    }

    private static bool SameMessage(Fragment f, ushort streamId, ushort ssn, bool unordered) =>
        f.StreamId == streamId && ((f.Flags & DataChunk.UnorderedFlag) != 0) == unordered && (unordered || f.Ssn == ssn);

    private void Complete(ushort streamId, ushort ssn, uint ppid, bool unordered, InboundMessage message)
    {
        if (unordered)
        {
            _deliver(streamId, ppid, message);
            return;
        }

        var stream = Stream(streamId);
        if (ssn == stream.NextSsn)
        {
            _deliver(streamId, ppid, message);
            stream.NextSsn++;
            DeliverReady(streamId, stream);
        }
        else if (SerialNumber.Less(stream.NextSsn, ssn))
        {
            // RFC 9260 §6.6: hold it until the earlier SSNs have been delivered.
            if (stream.Ready.TryAdd(ssn, (ppid, message)))
            {
                BufferedBytes += message.Length;
            }
            else
            {
                message.Release();
            }
        }
        else
        {
            message.Release(); // an SSN already delivered or skipped
        }
    }

    private void DeliverReady(ushort streamId, InboundStream stream)
    {
        while (stream.Ready.Remove(stream.NextSsn, out var ready))
        {
            BufferedBytes -= ready.Data.Length;
            _deliver(streamId, ready.Ppid, ready.Data);
            stream.NextSsn++;
        }
    }

    /// <summary>RFC 3758 §3.6: drops fragments at or below the new cumulative TSN and skips abandoned SSNs.</summary>
    public void Forward(uint newCumulativeTsn, IReadOnlyList<(ushort StreamId, ushort Ssn)> streams)
    {
        List<uint>? stale = null;
        foreach (var (tsn, _) in _fragments)
        {
            if (SerialNumber.LessOrEqual(tsn, newCumulativeTsn))
            {
                (stale ??= []).Add(tsn);
            }
        }

        if (stale is not null)
        {
            foreach (var tsn in stale)
            {
                Release(tsn, _fragments[tsn]);
            }
        }

        foreach (var (streamId, ssn) in streams)
        {
            var stream = Stream(streamId);
            if (SerialNumber.LessOrEqual(stream.NextSsn, ssn))
            {
                // Messages before the abandoned one that are still incomplete were abandoned too.
                for (var s = stream.NextSsn; s != (ushort)(ssn + 1); s++)
                {
                    if (stream.Ready.Remove(s, out var dropped))
                    {
                        BufferedBytes -= dropped.Data.Length;
                        dropped.Data.Release();
                    }
                }

                stream.NextSsn = (ushort)(ssn + 1);
                DeliverReady(streamId, stream);
            }
        }
    }

    /// <summary>RFC 6525 §5.2.2: the peer restarted its outgoing stream; expect SSN 0 next.</summary>
    public void ResetStream(ushort streamId)
    {
        if (_streams.Remove(streamId, out var stream))
        {
            foreach (var ready in stream.Ready.Values)
            {
                BufferedBytes -= ready.Data.Length;
                ready.Data.Release();
            }
        }
    }

    public void Clear()
    {
        foreach (var f in _fragments.Values)
        {
            MessagePool.Shared.Return(f.Buffer);
        }

        foreach (var stream in _streams.Values)
        {
            foreach (var ready in stream.Ready.Values)
            {
                ready.Data.Release();
            }
        }

        _fragments.Clear();
        _streams.Clear();
        BufferedBytes = 0;
    }

    private void Release(uint tsn, Fragment f)
    {
        _fragments.Remove(tsn);
        BufferedBytes -= f.Length;
        MessagePool.Shared.Return(f.Buffer);
    }

    private InboundStream Stream(ushort id)
    {
        if (!_streams.TryGetValue(id, out var stream))
        {
            stream = new InboundStream();
            _streams[id] = stream;
        }

        return stream;
    }

    private readonly record struct Fragment(ushort StreamId, ushort Ssn, uint Ppid, byte Flags, byte[] Buffer, int Length, long RunBytes);

    private sealed class InboundStream
    {
        public ushort NextSsn { get; set; }

        public Dictionary<ushort, (uint Ppid, InboundMessage Data)> Ready { get; } = [];
    }
}
