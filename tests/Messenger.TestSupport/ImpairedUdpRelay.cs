using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Messenger.TestSupport;

/// <summary>What one direction of an <see cref="ImpairedUdpRelay"/> does to datagrams.</summary>
public sealed record Impairment
{
    /// <summary>One-way delay added to every datagram (half the round trip it adds).</summary>
    public TimeSpan Delay { get; init; }

    /// <summary>Probability that a datagram is dropped, drawn from the relay's seeded generator.</summary>
    public double Loss { get; init; }

    /// <summary>Bytes per second the link serialises at; zero for unlimited.</summary>
    public long Rate { get; init; }

    /// <summary>Bytes waiting for the rate limit before the link tail-drops, as a router's buffer does.</summary>
    public long QueueLimit { get; init; } = 4 * 1024 * 1024;

    public static Impairment None { get; } = new();

    public override string ToString() =>
        $"{Delay.TotalMilliseconds:0} ms, {Loss:P1} loss{(Rate > 0 ? $", {Rate * 8 / 1e6:0} Mbit/s" : "")}";
}

/// <summary>
/// Two UDP sockets on 127.0.0.1 standing between peers A and B: A sends to <see cref="ForB"/> (where A believes B is)
/// and B to <see cref="ForA"/> (where B believes A is); neither learns the other's real address, so every datagram
/// crosses the relay, delayed, dropped and rate-limited per direction by a seeded generator. <see cref="Cut"/> drops everything from then on. Each direction
/// has a receiving thread and a sending thread that waits for the next datagram's due time (no polling).
/// </summary>
public sealed class ImpairedUdpRelay : IAsyncDisposable
{
    private readonly Socket _forA = Bind();
    private readonly Socket _forB = Bind();
    private readonly Direction _aToB;
    private readonly Direction _bToA;
    private volatile bool _cut;

    /// <param name="realA">A's own address (its host candidate), or null to name it later with <see cref="RealA"/>.</param>
    /// <param name="realB">B's own address, or null to name it later.</param>
    /// <param name="aToB">What happens to A's datagrams on their way to B.</param>
    /// <param name="bToA">What happens to B's datagrams on their way to A.</param>
    /// <param name="seed">Seeds the loss draws, so a run's drops replay.</param>
    public ImpairedUdpRelay(IPEndPoint? realA, IPEndPoint? realB, Impairment? aToB = null, Impairment? bToA = null, int seed = 1)
    {
        RealA = realA;
        RealB = realB;
        _aToB = new Direction(this, "A>B", _forB, _forA, toA: false, aToB ?? Impairment.None, new Random(seed));
        _bToA = new Direction(this, "B>A", _forA, _forB, toA: true, bToA ?? Impairment.None, new Random(seed + 1));
    }

    /// <summary>A's real address; datagrams for A are dropped until it is known.</summary>
    public IPEndPoint? RealA { get; set; }

    /// <summary>B's real address; datagrams for B are dropped until it is known.</summary>
    public IPEndPoint? RealB { get; set; }

    /// <summary>Where B should believe A is.</summary>
    public IPEndPoint ForA => (IPEndPoint)_forA.LocalEndPoint!;

    /// <summary>Where A should believe B is.</summary>
    public IPEndPoint ForB => (IPEndPoint)_forB.LocalEndPoint!;

    /// <summary>Datagrams passed on, both ways.</summary>
    public long Forwarded => _aToB.Forwarded + _bToA.Forwarded;

    /// <summary>Datagrams dropped (loss draws, full queues, the cut), both ways.</summary>
    public long Dropped => _aToB.Dropped + _bToA.Dropped;

    /// <summary>Drops every datagram both ways from now on (a cable pulled), until <see cref="Restore"/>.</summary>
    public void Cut() => _cut = true;

    /// <summary>Forwards again after <see cref="Cut"/> (the cable back in).</summary>
    public void Restore() => _cut = false;

    public async ValueTask DisposeAsync()
    {
        _aToB.Stop();
        _bToA.Stop();
        _forA.Dispose();
        _forB.Dispose();
        await Task.WhenAll(_aToB.Done, _bToA.Done).ConfigureAwait(false);
    }

    private static Socket Bind()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp)
        {
            ReceiveBufferSize = 8 * 1024 * 1024,
            SendBufferSize = 8 * 1024 * 1024,
        };
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return socket;
    }

    private sealed class Direction
    {
        private readonly ImpairedUdpRelay _owner;
        private readonly Socket _from;
        private readonly Socket _via;
        private readonly bool _toA;
        private readonly Impairment _impairment;
        private readonly Random _random;
        private readonly Queue<(long Due, byte[] Datagram, int Length)> _queue = new();
        private readonly Stack<byte[]> _spare = new();
        private readonly object _gate = new(); // Monitor.Wait/Pulse need an object, not a Lock
        private readonly TaskCompletionSource _receiving = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _sending = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private long _linkFree;
        private long _queuedBytes;
        private volatile bool _stopped;

        public Direction(ImpairedUdpRelay owner, string name, Socket from, Socket via, bool toA, Impairment impairment, Random random)
        {
            _owner = owner;
            _from = from;
            _via = via;
            _toA = toA;
            _impairment = impairment;
            _random = random;
            new Thread(Receive) { IsBackground = true, Name = $"relay {name} in" }.Start();
            new Thread(Send) { IsBackground = true, Name = $"relay {name} out" }.Start();
        }

        public long Forwarded;

        public long Dropped;

        public Task Done => Task.WhenAll(_receiving.Task, _sending.Task);

        public void Stop()
        {
            _stopped = true;
            lock (_gate)
            {
                Monitor.PulseAll(_gate);
            }
        }

        private void Receive()
        {
            var buffer = new byte[65536];
            var source = new SocketAddress(AddressFamily.InterNetwork);
            try
            {
                while (!_stopped)
                {
                    int length;
                    try
                    {
                        length = _from.ReceiveFrom(buffer, SocketFlags.None, source);
                    }
                    catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionRefused && !_stopped)
                    {
                        continue;
                    }
                    catch (SocketException) when (_stopped)
                    {
                        return; // disposing interrupted the receive
                    }

                    var now = Stopwatch.GetTimestamp();
                    lock (_gate)
                    {
                        if (_owner._cut || _random.NextDouble() < _impairment.Loss || _queuedBytes + length > _impairment.QueueLimit)
                        {
                            Dropped++;
                            continue;
                        }

                        // Serialisation at the rate queues datagrams behind each other, then the delay applies to each.
                        var start = Math.Max(now, _linkFree);
                        if (_impairment.Rate > 0)
                        {
                            start += length * Stopwatch.Frequency / _impairment.Rate;
                            _linkFree = start;
                        }

                        var copy = _spare.TryPop(out var spare) ? spare : new byte[65536];
                        buffer.AsSpan(0, length).CopyTo(copy);
                        _queue.Enqueue((start + (long)(_impairment.Delay.TotalSeconds * Stopwatch.Frequency), copy, length));
                        _queuedBytes += length;
                        Monitor.Pulse(_gate);
                    }
                }
            }
            catch (ObjectDisposedException)
            {
                // Disposed: stopping.
            }
            finally
            {
                _receiving.TrySetResult();
            }
        }

        private void Send()
        {
            try
            {
                while (true)
                {
                    (long Due, byte[] Datagram, int Length) next;
                    lock (_gate)
                    {
                        while (!_stopped && (_queue.Count == 0 || _queue.Peek().Due > Stopwatch.GetTimestamp()))
                        {
                            if (_queue.Count == 0)
                            {
                                Monitor.Wait(_gate);
                            }
                            else
                            {
                                // Until the head is due; a new arrival is never due earlier (FIFO, equal delays).
                                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), _queue.Peek().Due);
                                Monitor.Wait(_gate, wait > TimeSpan.Zero ? wait : TimeSpan.Zero);
                            }
                        }

                        if (_stopped)
                        {
                            return;
                        }

                        next = _queue.Dequeue();
                        _queuedBytes -= next.Length;
                    }

                    try
                    {
                        if ((_toA ? _owner.RealA : _owner.RealB) is { } to)
                        {
                            _via.SendTo(next.Datagram.AsSpan(0, next.Length), SocketFlags.None, to);
                            Interlocked.Increment(ref Forwarded);
                        }
                        else
                        {
                            Interlocked.Increment(ref Dropped);
                        }
                    }
                    catch (SocketException)
                    {
                        Interlocked.Increment(ref Dropped); // a full buffer on the way out is loss too
                    }

                    lock (_gate)
                    {
                        _spare.Push(next.Datagram);
                    }
                }
            }
            catch (ObjectDisposedException)
            {
                // Disposed: stopping.
            }
            finally
            {
                _sending.TrySetResult();
            }
        }
    }
}
