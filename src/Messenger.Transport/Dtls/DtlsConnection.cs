using System.Diagnostics;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace Messenger.Transport.Dtls;

/// <summary>Receives one decrypted application datagram; the span is valid only during the call.</summary>
public delegate void DtlsDataHandler(ReadOnlySpan<byte> data);

/// <summary>
/// A DTLS 1.2 connection (RFC 6347) over an <see cref="IDatagramTransport"/>, with BouncyCastle doing the protocol:
/// the handshake checks the peer's certificate against its SDP fingerprint, then application datagrams (the SCTP
/// packets, RFC 8261) go out with <see cref="Send"/> and come in on a receive thread to a handler.
/// </summary>
public sealed class DtlsConnection : IDisposable
{
    private const int ReceiveWaitMillis = 1000;

    private readonly DtlsTransport _dtls;
    private readonly BouncyCastleDatagramAdapter _adapter;
    private readonly WebRtcTlsCrypto _crypto;
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _gate = new();
    private Thread? _receiveThread;
    private volatile bool _disposed;

    private DtlsConnection(DtlsTransport dtls, BouncyCastleDatagramAdapter adapter, WebRtcTlsCrypto crypto, int cipherSuite, TimeSpan handshakeTime)
    {
        _dtls = dtls;
        _adapter = adapter;
        _crypto = crypto;
        CipherSuiteName = WebRtcDtls.Name(cipherSuite);
        HandshakeTime = handshakeTime;
        MaxApplicationDataSize = dtls.GetSendLimit();
    }

    /// <summary>The negotiated suite, e.g. "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256".</summary>
    public string CipherSuiteName { get; }

    public TimeSpan HandshakeTime { get; }

    /// <summary>
    /// The use_srtp profile (RFC 5764) the handshake agreed, e.g. 7 = SRTP_AEAD_AES_128_GCM, or null. Unused for data,
    /// but werift fails a connection that negotiated none.
    /// </summary>
    public int? SrtpProfile { get; private init; }

    /// <summary>The largest application datagram one record carries over this path.</summary>
    public int MaxApplicationDataSize { get; }

    /// <summary>Completes when the peer closes (close_notify) or we dispose; faults on a fatal alert or transport failure.</summary>
    public Task Closed => _closed.Task;

    /// <summary>
    /// Runs the handshake in <paramref name="options"/>' role over <paramref name="transport"/>, which the connection
    /// then owns (and disposes on failure).
    /// </summary>
    /// <exception cref="DtlsFingerprintMismatchException">The peer's certificate does not match its SDP fingerprint.</exception>
    /// <exception cref="DtlsHandshakeTimeoutException">No completed handshake within the handshake timeout.</exception>
    /// <exception cref="DtlsAlertException">The peer aborted, e.g. because our certificate did not match.</exception>
    public static Task<DtlsConnection> HandshakeAsync(IDatagramTransport transport, DtlsConnectionOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(options);

        // BouncyCastle's handshake blocks in Receive; give it its own thread rather than a pool thread.
        // The token goes to Handshake only, so a cancelled call still disposes the transport it was given.
        return Task.Factory.StartNew(
            () => Handshake(transport, options, cancellationToken),
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
    }

    private static DtlsConnection Handshake(IDatagramTransport transport, DtlsConnectionOptions options, CancellationToken cancellationToken)
    {
        var crypto = new WebRtcTlsCrypto(new SecureRandom(), options.PlatformAesGcm);
        var check = new FingerprintCheck(options.RemoteFingerprint);
        var adapter = new BouncyCastleDatagramAdapter(transport);

        // Cancelling closes the path; the blocked handshake then fails at its next receive.
        using var cancel = cancellationToken.Register(adapter.Close);
        var started = Stopwatch.GetTimestamp();
        try
        {
            DtlsTransport dtls;
            int suite;
            int? srtpProfile;
            if (options.Role == DtlsRole.Client)
            {
                var client = new WebRtcDtlsClient(crypto, options, check);
                dtls = new DtlsClientProtocol().Connect(client, adapter);
                suite = client.SelectedCipherSuite;
                srtpProfile = client.SrtpProfile;
            }
            else
            {
                var server = new WebRtcDtlsServer(crypto, options, check);
                dtls = new DtlsServerProtocol().Accept(server, adapter);
                suite = server.SelectedCipherSuite;
                srtpProfile = server.SrtpProfile;
            }

            return new DtlsConnection(dtls, adapter, crypto, suite, Stopwatch.GetElapsedTime(started)) { SrtpProfile = srtpProfile };
        }
        catch (Exception e) when (e is TlsException or IOException)
        {
            adapter.Close();
            crypto.Dispose();
            cancellationToken.ThrowIfCancellationRequested();
            throw Translate(e, check, options);
        }
    }

    private static DtlsException Translate(Exception e, FingerprintCheck check, DtlsConnectionOptions options)
    {
        if (check.Failed)
        {
            return new DtlsFingerprintMismatchException(check.Expected, check.Actual, e);
        }

        return e switch
        {
            TlsTimeoutException => new DtlsHandshakeTimeoutException(
                $"The DTLS handshake ({options.Role}) did not complete within {options.HandshakeTimeout.TotalSeconds:0.###} s: the peer did not answer.", e),
            TlsFatalAlertReceived received => new DtlsAlertException(AlertDescription.GetName(received.AlertDescription), received: true, e),
            TlsFatalAlert raised => new DtlsAlertException(AlertDescription.GetName(raised.AlertDescription), received: false, e),
            DatagramTransportClosedException => new DtlsException("The datagram transport closed during the DTLS handshake.", e),
            _ => new DtlsException($"The DTLS handshake failed: {e.Message}", e),
        };
    }

    /// <summary>Starts the receive thread; <paramref name="handler"/> gets every application datagram, in order of arrival.</summary>
    public void StartReceiving(DtlsDataHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        lock (_gate)
        {
            if (_receiveThread is not null)
            {
                throw new InvalidOperationException("Receiving has already started.");
            }

            _receiveThread = new Thread(() => ReceiveLoop(handler)) { IsBackground = true, Name = "DTLS receive" };
            _receiveThread.Start();
        }
    }

    /// <summary>Encrypts and sends one application datagram; safe from any thread.</summary>
    /// <exception cref="ArgumentException">Larger than <see cref="MaxApplicationDataSize"/>.</exception>
    public void Send(ReadOnlySpan<byte> data)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (data.Length > MaxApplicationDataSize)
        {
            // BouncyCastle would fail the whole connection on an oversized record; refuse just this one.
            throw new ArgumentException($"A DTLS record here carries at most {MaxApplicationDataSize} bytes.", nameof(data));
        }

        try
        {
            _dtls.Send(data);
        }
        catch (Exception e) when (e is TlsException or IOException && e is not DtlsException)
        {
            var failure = new DtlsException($"Sending on the DTLS connection failed: {e.Message}", e);
            _closed.TrySetException(failure);
            throw failure;
        }
    }

    /// <summary>
    /// Sends like <see cref="Send"/>, but a closed or failed connection drops the datagram and returns false, as a
    /// vanished path would: the sink for SCTP packets, whose own timers notice the loss (RFC 9260 §8.1).
    /// </summary>
    public bool TrySend(ReadOnlySpan<byte> data)
    {
        if (_disposed || _adapter.IsClosed || _closed.Task.IsCompleted)
        {
            return false;
        }

        try
        {
            Send(data);
            return true;
        }
        catch (Exception e) when (e is DtlsException or ObjectDisposedException)
        {
            return false;
        }
    }

    private void ReceiveLoop(DtlsDataHandler handler)
    {
        var buffer = new byte[_adapter.GetReceiveLimit()];
        try
        {
            while (!_disposed)
            {
                var received = _dtls.Receive(buffer, 0, buffer.Length, ReceiveWaitMillis);
                if (received >= 0)
                {
                    Deliver(handler, buffer.AsSpan(0, received));
                }
                else if (_adapter.IsClosed)
                {
                    break; // close_notify received (RFC 5246 §7.2.1), or we closed
                }
            }

            _closed.TrySetResult();
        }
        catch (Exception e) when (e is TlsException or IOException)
        {
            if (_disposed || e is DatagramTransportClosedException || e.InnerException is DatagramTransportClosedException)
            {
                _closed.TrySetResult();
            }
            else
            {
                _closed.TrySetException(e is TlsFatalAlertReceived alert
                    ? new DtlsAlertException(AlertDescription.GetName(alert.AlertDescription), received: true, e)
                    : new DtlsException($"The DTLS connection failed: {e.Message}", e));
            }
        }
    }

    private void Deliver(DtlsDataHandler handler, ReadOnlySpan<byte> data)
    {
        try
        {
            handler(data);
        }
        catch (Exception e) when (e is not (TlsException or IOException))
        {
            // A throwing handler must not kill the process from this thread: it ends the connection, visibly.
            _closed.TrySetException(new DtlsException($"The application's receive handler failed: {e.Message}", e));
            _disposed = true;
            _adapter.Close();
        }
    }

    /// <summary>Sends close_notify, closes the transport and stops the receive thread.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            _dtls.Close();
        }
        catch (IOException)
        {
            // The path may already be gone; close_notify is best effort.
        }

        _adapter.Close();
        _closed.TrySetResult();
        if (_receiveThread is { } thread && thread != Thread.CurrentThread
            && !thread.Join(TimeSpan.FromMilliseconds(ReceiveWaitMillis * 2)))
        {
            return; // still decrypting: leave the ciphers to the finalizer rather than pull them from under it
        }

        _crypto.Dispose();
    }
}
