using Org.BouncyCastle.Tls;

namespace Messenger.Transport.Dtls;

/// <summary>Presents an <see cref="IDatagramTransport"/> to BouncyCastle as its <see cref="DatagramTransport"/>.</summary>
internal sealed class BouncyCastleDatagramAdapter(IDatagramTransport transport) : DatagramTransport
{
    // BouncyCastle sizes its record buffer as the plaintext limit derived from this value plus the header, which
    // is smaller than a full ciphertext datagram; the slack makes a datagram of MaxDatagramSize always fit.
    private const int RecordOverheadSlack = 64;

    private volatile bool _closed;

    public bool IsClosed => _closed;

    public int GetReceiveLimit() => transport.MaxDatagramSize + RecordOverheadSlack;

    public int GetSendLimit() => transport.MaxDatagramSize;

    public int Receive(byte[] buf, int off, int len, int waitMillis) => Receive(buf.AsSpan(off, len), waitMillis);

    public int Receive(Span<byte> buffer, int waitMillis)
    {
        if (_closed)
        {
            throw new DatagramTransportClosedException();
        }

        return transport.Receive(buffer, TimeSpan.FromMilliseconds(waitMillis));
    }

    public void Send(byte[] buf, int off, int len) => Send(buf.AsSpan(off, len));

    public void Send(ReadOnlySpan<byte> buffer)
    {
        if (!_closed)
        {
            transport.Send(buffer);
        }
    }

    /// <summary>BouncyCastle calls this after close_notify or a fatal alert; the path goes with the connection.</summary>
    public void Close()
    {
        _closed = true;
        transport.Dispose();
    }
}
