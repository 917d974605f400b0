using System.Buffers;
using System.Collections.Concurrent;

namespace Messenger.Transport.Dtls;

/// <summary>Sends one datagram; the span is valid only during the call.</summary>
public delegate void DatagramSender(ReadOnlySpan<byte> datagram);

/// <summary>
/// A datagram transport fed from outside: the owner (the ICE agent's demultiplexer, or the other end of an
/// in-memory pair) calls <see cref="Deliver"/>; sends go to a delegate. Received datagrams wait in a bounded queue,
/// in buffers rented from a pool, so a busy path allocates nothing per datagram.
/// </summary>
public sealed class QueuedDatagramTransport : IDatagramTransport
{
    private readonly BlockingCollection<Datagram> _inbound;
    private readonly DatagramSender _send;
    private volatile bool _disposed;
    private int _waiting;

    /// <param name="send">Where sent datagrams go; it gets a copy it may keep.</param>
    /// <param name="maxDatagramSize">The largest datagram accepted either way.</param>
    /// <param name="capacity">Datagrams queued before new ones are dropped, as a full socket buffer would.</param>
    public QueuedDatagramTransport(Action<ReadOnlyMemory<byte>> send, int maxDatagramSize = 1472, int capacity = 4096)
        : this(WithCopy(send), maxDatagramSize, capacity)
    {
    }

    /// <param name="send">Where sent datagrams go, without a copy: the span is valid only during the call.</param>
    /// <param name="maxDatagramSize">The largest datagram accepted either way.</param>
    /// <param name="capacity">Datagrams queued before new ones are dropped, as a full socket buffer would.</param>
    public QueuedDatagramTransport(DatagramSender send, int maxDatagramSize = 1472, int capacity = 4096)
    {
        ArgumentNullException.ThrowIfNull(send);
        _send = send;
        MaxDatagramSize = maxDatagramSize;
        _inbound = new BlockingCollection<Datagram>(capacity);
    }

    public int MaxDatagramSize { get; }

    /// <summary>Two transports wired back to back in memory: what one sends, the other receives.</summary>
    public static (QueuedDatagramTransport A, QueuedDatagramTransport B) CreatePair(int maxDatagramSize = 1472)
    {
        QueuedDatagramTransport? b = null;
        var a = new QueuedDatagramTransport((DatagramSender)(datagram => b!.Deliver(datagram)), maxDatagramSize);
        b = new QueuedDatagramTransport((DatagramSender)(datagram => a.Deliver(datagram)), maxDatagramSize);
        return (a, b);
    }

    /// <summary>Hands the transport one received datagram; copied. Dropped when closed, full or oversized.</summary>
    public bool Deliver(ReadOnlySpan<byte> datagram)
    {
        if (_disposed || datagram.Length > MaxDatagramSize)
        {
            return false;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(1, datagram.Length));
        datagram.CopyTo(buffer);
        try
        {
            if (_inbound.TryAdd(new Datagram(buffer, datagram.Length)))
            {
                return true;
            }
        }
        catch (InvalidOperationException)
        {
            // Completed concurrently by Dispose.
        }

        ArrayPool<byte>.Shared.Return(buffer);
        return false;
    }

    public void Send(ReadOnlySpan<byte> datagram)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _send(datagram);
    }

    public int Receive(Span<byte> buffer, TimeSpan timeout)
    {
        Datagram datagram;
        try
        {
            if (!_inbound.TryTake(out datagram) && !TakeWaiting(out datagram, timeout))
            {
                if (_inbound.IsCompleted)
                {
                    throw new DatagramTransportClosedException();
                }

                return -1;
            }
        }
        catch (ObjectDisposedException e)
        {
            throw new DatagramTransportClosedException("The transport was disposed.", e);
        }

        var length = Math.Min(datagram.Length, buffer.Length);
        datagram.Buffer.AsSpan(0, length).CopyTo(buffer);
        ArrayPool<byte>.Shared.Return(datagram.Buffer);
        return length;
    }

    /// <summary>Receive calls blocked on an empty queue right now (a test harness waits for the reader to be idle).</summary>
    internal int Waiting => Volatile.Read(ref _waiting);

    /// <summary>Datagrams delivered and not yet received.</summary>
    internal int Queued => _inbound.Count;

    private bool TakeWaiting(out Datagram datagram, TimeSpan timeout)
    {
        Interlocked.Increment(ref _waiting);
        try
        {
            return _inbound.TryTake(out datagram, timeout);
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
    }

    public void Dispose()
    {
        _disposed = true;
        _inbound.CompleteAdding();
    }

    private static DatagramSender WithCopy(Action<ReadOnlyMemory<byte>> send)
    {
        ArgumentNullException.ThrowIfNull(send);
        return datagram => send(datagram.ToArray());
    }

    private readonly record struct Datagram(byte[] Buffer, int Length);
}
