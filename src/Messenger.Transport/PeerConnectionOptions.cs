using Messenger.Transport.Dtls;
using Messenger.Transport.Ice;
using Messenger.Transport.Sctp;
using Messenger.Transport.Sdp;

namespace Messenger.Transport;

/// <summary>The overall state, as the W3C RTCPeerConnectionState names it.</summary>
public enum PeerConnectionState
{
    New,
    Connecting,
    Connected,
    Disconnected,
    Failed,
    Closed,
}

/// <summary>Settings of a <see cref="PeerConnection"/>.</summary>
public sealed record PeerConnectionOptions
{
    public IceTransportOptions Ice { get; init; } = new();

    /// <summary>Our DTLS identity; a fresh P-256 certificate when null.</summary>
    public DtlsCertificate? Certificate { get; init; }

    public TimeSpan DtlsHandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Our a=max-message-size (RFC 8841 §6).</summary>
    public int MaxMessageSize { get; init; } = SessionDescription.DefaultMaxMessageSize;

    /// <summary>The SCTP association's settings: the data-channel RTO floor unless set.</summary>
    public SctpAssociationOptions Sctp { get; init; } = SctpAssociationOptions.ForDataChannels;
}

/// <summary>Why a peer connection failed: ICE found no path, or DTLS or SCTP could not be set up over it.</summary>
public sealed class PeerConnectionException : IOException
{
    public PeerConnectionException()
    {
    }

    public PeerConnectionException(string message)
        : base(message)
    {
    }

    public PeerConnectionException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
