using System.Collections.Concurrent;

namespace Messenger.Transport.Dtls;

/// <summary>
/// A datagram transport fed from outside: the owner (the ICE agent's demultiplexer, or the other end of an
/// in-memory pair) calls <see cref="Deliver"/>; sends go to a delegate. Received datagrams wait in a bounded queue.
/// </summary>
public sealed class QueuedDatagramTransport : IDatagramTransport
{
    private readonly BlockingCollection<byte[]> _inbound;
    private readonly Action<ReadOnlyMemory<byte>> _send;
    private volatile bool _disposed;

    /// <param name="send">Where sent datagrams go; it gets a copy it may keep.</param>
    /// <param name="maxDatagramSize">The largest datagram accepted either way.</param>
    /// <param name="capacity">Datagrams queued before new ones are dropped, as a full socket buffer would.</param>
    public QueuedDatagramTransport(Action<ReadOnlyMemory<byte>> send, int maxDatagramSize = 1472, int capacity = 4096)
    {
        ArgumentNullException.ThrowIfNull(send);
        _send = send;
        MaxDatagramSize = maxDatagramSize;
        _inbound = new BlockingCollection<byte[]>(capacity);
    }

    public int MaxDatagramSize { get; }

    /// <summary>Two transports wired back to back in memory: what one sends, the other receives.</summary>
    public static (QueuedDatagramTransport A, QueuedDatagramTransport B) CreatePair(int maxDatagramSize = 1472)
    {
        QueuedDatagramTransport? b = null;
        var a = new QueuedDatagramTransport(datagram => b!.Deliver(datagram.Span), maxDatagramSize);
        b = new QueuedDatagramTransport(datagram => a.Deliver(datagram.Span), maxDatagramSize);
        return (a, b);
    }

    /// <summary>Hands the transport one received datagram; copied. Dropped when closed, full or oversized.</summary>
    public bool Deliver(ReadOnlySpan<byte> datagram)
    {
        if (_disposed || datagram.Length > MaxDatagramSize)
        {
            return false;
        }

        try
        {
            return _inbound.TryAdd(datagram.ToArray());
        }
        catch (InvalidOperationException)
        {
            return false; // completed concurrently by Dispose
        }
    }

    public void Send(ReadOnlySpan<byte> datagram)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _send(datagram.ToArray());
    }

    public int Receive(Span<byte> buffer, TimeSpan timeout)
    {
        byte[] datagram;
        try
        {
            if (!_inbound.TryTake(out datagram!, timeout))
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
        datagram.AsSpan(0, length).CopyTo(buffer);
        return length;
    }

    public void Dispose()
    {
        _disposed = true;
        _inbound.CompleteAdding();
    }
}
