namespace Messenger.Transport.Dtls;

/// <summary>Which side of the DTLS handshake we are: the SDP answerer (a=setup:active) is the client (RFC 8842 §5.3).</summary>
public enum DtlsRole
{
    Client,
    Server,
}

/// <summary>Settings of one <see cref="DtlsConnection"/>.</summary>
public sealed record DtlsConnectionOptions
{
    public required DtlsRole Role { get; init; }

    /// <summary>Our identity; its fingerprint is the one our SDP carries.</summary>
    public required DtlsCertificate Certificate { get; init; }

    /// <summary>The a=fingerprint of the peer's SDP; the handshake aborts unless the peer's certificate matches.</summary>
    public required DtlsFingerprint RemoteFingerprint { get; init; }

    /// <summary>The whole handshake must finish within this, else <see cref="DtlsHandshakeTimeoutException"/>.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>First flight retransmission; BouncyCastle's default is 1 s, browsers answer within milliseconds.</summary>
    public TimeSpan InitialRetransmit { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>AES-GCM records through the platform's AesGcm; false keeps BouncyCastle's own (tests prove both interoperate).</summary>
    internal bool PlatformAesGcm { get; init; } = true;

    /// <summary>The suites this side offers or accepts, in order; null for <see cref="WebRtcDtls.CipherSuites"/> (tests pin one).</summary>
    internal int[]? CipherSuites { get; init; }

    /// <summary>The named groups a client offers, in order; null for <see cref="WebRtcDtls.SupportedGroups"/> (tests pin one).</summary>
    internal int[]? SupportedGroups { get; init; }
}
