using Org.BouncyCastle.Tls;

namespace Messenger.Transport.Dtls;

/// <summary>Presents an <see cref="IDatagramTransport"/> to BouncyCastle as its <see cref="DatagramTransport"/>.</summary>
internal sealed class BouncyCastleDatagramAdapter(IDatagramTransport transport) : DatagramTransport
{
    // BouncyCastle sizes its record buffer as the plaintext limit derived from this value plus the header, which
    // is smaller than a full ciphertext datagram; the slack makes a datagram of MaxDatagramSize always fit.
    private const int RecordOverheadSlack = 64;

    private readonly Lock _gate = new();
    private List<byte[]> _flight = [];
    private long _highestEpochOne = -1;
    private bool _capturing = true;
    private volatile bool _closed;

    public bool IsClosed => _closed;

    /// <summary>The epoch-1 sequence number after the highest one BouncyCastle wrote (its Finished, retransmissions included).</summary>
    public ulong NextEpochOneSequence
    {
        get
        {
            lock (_gate)
            {
                return (ulong)(_highestEpochOne + 1);
            }
        }
    }

    /// <summary>Copies of the datagrams sent since the last one received: at the end of the handshake, our last flight.</summary>
    public IReadOnlyList<byte[]> CurrentFlight
    {
        get
        {
            lock (_gate)
            {
                return [.. _flight];
            }
        }
    }

    /// <summary>Ends the bookkeeping once the handshake is over.</summary>
    public void StopCapturing()
    {
        lock (_gate)
        {
            _capturing = false;
            _flight = [];
        }
    }

    public int GetReceiveLimit() => transport.MaxDatagramSize + RecordOverheadSlack;

    public int GetSendLimit() => transport.MaxDatagramSize;

    public int Receive(byte[] buf, int off, int len, int waitMillis) => Receive(buf.AsSpan(off, len), waitMillis);

    public int Receive(Span<byte> buffer, int waitMillis)
    {
        if (_closed)
        {
            throw new DatagramTransportClosedException();
        }

        var received = transport.Receive(buffer, TimeSpan.FromMilliseconds(waitMillis));
        if (received >= 0)
        {
            lock (_gate)
            {
                if (_capturing && _flight.Count > 0)
                {
                    _flight = [];
                }
            }
        }

        return received;
    }

    public void Send(byte[] buf, int off, int len) => Send(buf.AsSpan(off, len));

    public void Send(ReadOnlySpan<byte> buffer)
    {
        if (_closed)
        {
            return;
        }

        lock (_gate)
        {
            if (_capturing)
            {
                _flight.Add(buffer.ToArray());
                _highestEpochOne = Math.Max(_highestEpochOne, DtlsHandshake.HighestEpochOneSequence(buffer));
            }
        }

        transport.Send(buffer);
    }

    /// <summary>BouncyCastle calls this after close_notify or a fatal alert; the path goes with the connection.</summary>
    public void Close()
    {
        _closed = true;
        transport.Dispose();
    }
}
