using System.Net;
using System.Net.Sockets;

namespace Messenger.Transport.Dtls;

/// <summary>A UDP socket connected to one remote endpoint, so the kernel drops datagrams from anyone else.</summary>
public sealed class UdpDatagramTransport : IDatagramTransport
{
    private readonly Socket _socket;
    private volatile bool _disposed;

    /// <param name="socket">A bound UDP socket; the transport connects it to <paramref name="remote"/> and owns it.</param>
    /// <param name="remote">The peer.</param>
    /// <param name="maxDatagramSize">1472 = a 1500-byte Ethernet MTU minus IPv4 and UDP headers.</param>
    public UdpDatagramTransport(Socket socket, IPEndPoint remote, int maxDatagramSize = 1472)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentNullException.ThrowIfNull(remote);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDatagramSize, 256);
        _socket = socket;
        _socket.Connect(remote);
        MaxDatagramSize = maxDatagramSize;
    }

    public int MaxDatagramSize { get; }

    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    public void Send(ReadOnlySpan<byte> datagram)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        try
        {
            _socket.Send(datagram);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.ConnectionReset)
        {
            // An ICMP port-unreachable for an earlier datagram; UDP is unreliable and DTLS retransmits (RFC 6347 §4.2.4).
        }
    }

    public int Receive(Span<byte> buffer, TimeSpan timeout)
    {
        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (true)
        {
            if (_disposed)
            {
                throw new DatagramTransportClosedException();
            }

            var remaining = deadline - Environment.TickCount64;
            try
            {
                // Poll blocks in the kernel until a datagram arrives or the wait ends; it is not a busy loop.
                if (!_socket.Poll(TimeSpan.FromMilliseconds(Math.Max(0, remaining)), SelectMode.SelectRead))
                {
                    return -1;
                }

                return _socket.Receive(buffer);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.ConnectionReset)
            {
                // The peer's port was not open yet (ICMP unreachable); keep waiting until the deadline.
                if (remaining <= 0)
                {
                    return -1;
                }
            }
            catch (ObjectDisposedException e)
            {
                throw new DatagramTransportClosedException("The UDP socket was closed.", e);
            }
        }
    }

    public void Dispose()
    {
        _disposed = true;
        _socket.Dispose();
    }
}
