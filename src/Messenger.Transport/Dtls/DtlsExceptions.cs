namespace Messenger.Transport.Dtls;

/// <summary>The DTLS connection failed; the message says why.</summary>
public class DtlsException : IOException
{
    public DtlsException()
        : base("The DTLS connection failed.")
    {
    }

    public DtlsException(string message)
        : base(message)
    {
    }

    public DtlsException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// The peer's certificate does not hash to the fingerprint its SDP announced: the handshake was aborted, since
/// this is what a man-in-the-middle looks like (RFC 8827 §6.5).
/// </summary>
public sealed class DtlsFingerprintMismatchException : DtlsException
{
    public DtlsFingerprintMismatchException()
        : base("The peer's certificate does not match the fingerprint in its SDP.")
    {
    }

    public DtlsFingerprintMismatchException(string message)
        : base(message)
    {
    }

    public DtlsFingerprintMismatchException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public DtlsFingerprintMismatchException(DtlsFingerprint expected, DtlsFingerprint? actual, Exception? innerException)
        : base(actual is null
            ? $"The peer sent no certificate, but its SDP announced fingerprint {expected}; handshake aborted."
            : $"The peer's certificate has fingerprint {actual}, but its SDP announced {expected}; handshake aborted (possible man-in-the-middle).",
            innerException!)
    {
        Expected = expected;
        Actual = actual;
    }

    public DtlsFingerprint? Expected { get; }

    /// <summary>The fingerprint of the certificate the peer presented; null when it presented none.</summary>
    public DtlsFingerprint? Actual { get; }
}

/// <summary>The handshake did not finish within the handshake timeout: the peer never answered, or too little got through.</summary>
public sealed class DtlsHandshakeTimeoutException : DtlsException
{
    public DtlsHandshakeTimeoutException()
        : base("The DTLS handshake timed out.")
    {
    }

    public DtlsHandshakeTimeoutException(string message)
        : base(message)
    {
    }

    public DtlsHandshakeTimeoutException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The peer aborted with a fatal alert (RFC 5246 §7.2), e.g. bad_certificate when it rejected our fingerprint.</summary>
public sealed class DtlsAlertException : DtlsException
{
    public DtlsAlertException()
        : base("The peer sent a fatal DTLS alert.")
    {
    }

    public DtlsAlertException(string message)
        : base(message)
    {
    }

    public DtlsAlertException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public DtlsAlertException(string alert, bool received, Exception? innerException)
        : base(received
            ? $"The peer aborted the DTLS connection with alert '{alert}'" + (alert == "bad_certificate" ? " (it rejected our certificate: does its SDP carry our fingerprint?)." : ".")
            : $"The DTLS connection failed locally with alert '{alert}'.", innerException)
    {
        Alert = alert;
        Received = received;
    }

    /// <summary>The alert's name, e.g. "bad_certificate".</summary>
    public string? Alert { get; }

    /// <summary>True when the peer sent it; false when we raised it.</summary>
    public bool Received { get; }
}
