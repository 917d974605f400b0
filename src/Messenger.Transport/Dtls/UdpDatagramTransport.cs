using System.Net;
using System.Net.Sockets;

namespace Messenger.Transport.Dtls;

/// <summary>A UDP socket connected to one remote endpoint, so the kernel drops datagrams from anyone else.</summary>
public sealed class UdpDatagramTransport : IDatagramTransport
{
    private readonly Socket _socket;
    private static readonly TimeSpan SendWait = TimeSpan.FromMilliseconds(100);
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
        _socket.Blocking = false;
        MaxDatagramSize = maxDatagramSize;
    }

    public int MaxDatagramSize { get; }

    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    public void Send(ReadOnlySpan<byte> datagram)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        while (true)
        {
            _socket.Send(datagram, SocketFlags.None, out var error);
            if (error == SocketError.WouldBlock)
            {
                // The socket is non-blocking for receives; a full send buffer waits here, bounded, as a blocking send would.
                if (_socket.Poll(SendWait, SelectMode.SelectWrite))
                {
                    continue;
                }

                return; // still full: drop the datagram, as a router would; DTLS and SCTP retransmit
            }

            // ConnectionRefused/Reset report an ICMP unreachable for an earlier datagram; UDP carries on (RFC 6347 §4.2.4).
            if (error is SocketError.Success or SocketError.ConnectionRefused or SocketError.ConnectionReset)
            {
                return;
            }

            ObjectDisposedException.ThrowIf(_disposed, this);
            throw new SocketException((int)error);
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

            int received;
            SocketError error;
            try
            {
                // Non-blocking read first: under load a datagram is usually waiting, so one syscall suffices.
                received = _socket.Receive(buffer, SocketFlags.None, out error);
                if (error == SocketError.Success)
                {
                    return received;
                }

                if (error == SocketError.WouldBlock)
                {
                    // Poll blocks in the kernel until a datagram arrives or the wait ends; it is not a busy loop.
                    var remaining = deadline - Environment.TickCount64;
                    if (remaining <= 0 || !_socket.Poll(TimeSpan.FromMilliseconds(remaining), SelectMode.SelectRead))
                    {
                        return -1;
                    }

                    continue;
                }
            }
            catch (ObjectDisposedException e)
            {
                throw new DatagramTransportClosedException("The UDP socket was closed.", e);
            }

            if (error is SocketError.ConnectionRefused or SocketError.ConnectionReset)
            {
                continue; // the peer's port was not open yet (ICMP unreachable); keep waiting until the deadline
            }

            if (_disposed || error is SocketError.OperationAborted or SocketError.Shutdown or SocketError.NotSocket)
            {
                throw new DatagramTransportClosedException();
            }

            throw new SocketException((int)error);
        }
    }

    public void Dispose()
    {
        _disposed = true;
        _socket.Dispose();
    }
}
