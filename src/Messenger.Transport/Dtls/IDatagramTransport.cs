namespace Messenger.Transport.Dtls;

/// <summary>
/// The path DTLS rides on: one peer, whole datagrams, a blocking receive with a timeout (BouncyCastle's DTLS is
/// blocking). A UDP socket implements it for tests; the ICE agent will implement it over the selected pair by
/// feeding <see cref="QueuedDatagramTransport"/> the datagrams its demultiplexer sorts as DTLS (RFC 7983).
/// </summary>
public interface IDatagramTransport : IDisposable
{
    /// <summary>The largest datagram sent or received (path MTU minus IP and UDP headers).</summary>
    int MaxDatagramSize { get; }

    void Send(ReadOnlySpan<byte> datagram);

    /// <summary>Waits up to <paramref name="timeout"/> for a datagram; returns its length, or -1 when none came.</summary>
    /// <exception cref="DatagramTransportClosedException">The transport was closed.</exception>
    int Receive(Span<byte> buffer, TimeSpan timeout);
}

/// <summary>The datagram transport under a DTLS connection has been closed.</summary>
public sealed class DatagramTransportClosedException : IOException
{
    public DatagramTransportClosedException()
        : base("The datagram transport is closed.")
    {
    }

    public DatagramTransportClosedException(string message)
        : base(message)
    {
    }

    public DatagramTransportClosedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
