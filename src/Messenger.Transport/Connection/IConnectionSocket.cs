using System.Net;

namespace Messenger.Transport.Connection;

/// <summary>
/// The socket as a <see cref="ConnectionCore"/> sees it: the loop's UDP socket (sends batched with UDP GSO), or a
/// simulated network in tests. Called on the loop thread only.
/// </summary>
internal interface IConnectionSocket
{
    /// <summary>Room for one datagram of at most <paramref name="maxLength"/> bytes, built in place; then <see cref="Commit"/>.</summary>
    Span<byte> Reserve(int maxLength);

    /// <summary>Sends the datagram written into the last <see cref="Reserve"/> span to the remote set by <see cref="SetRemote"/>.</summary>
    void Commit(int length);

    /// <summary>Sends one datagram (STUN, a handshake retransmission) to <paramref name="destination"/>.</summary>
    void SendTo(ReadOnlySpan<byte> datagram, IPEndPoint destination);

    /// <summary>Where application datagrams go from now on (ICE selected a pair).</summary>
    void SetRemote(IPEndPoint remote);

    /// <summary>The address bytes a datagram from <paramref name="endPoint"/> arrives with, to compare without allocating.</summary>
    byte[] Encode(IPEndPoint endPoint);

    /// <summary>The endpoint of received address bytes (allocates: for STUN, which is rare).</summary>
    IPEndPoint Decode(ReadOnlySpan<byte> address);
}
