namespace Messenger.Transport.Dtls;

/// <summary>Receives one decrypted application datagram; the span is valid only during the call.</summary>
public delegate void DtlsDataHandler(ReadOnlySpan<byte> data);

/// <summary>
/// A DTLS 1.2 connection (RFC 6347) over an <see cref="IDatagramTransport"/>, for a path of its own (a test link, a
/// plain UDP socket): BouncyCastle runs the handshake (<see cref="DtlsHandshake"/>), then <see cref="DtlsRecordLayer"/>
/// seals what <see cref="Send"/> gets and a receive thread opens what arrives. A peer connection does not use this
/// class: its one loop drives the record layer itself.
/// </summary>
public sealed class DtlsConnection : IDisposable
{
    private static readonly TimeSpan ReceiveWait = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan FinalFlightInterval = TimeSpan.FromMilliseconds(250);

    private readonly IDatagramTransport _transport;
    private readonly DtlsHandshakeResult _handshake;
    private readonly DtlsRecordLayer _records;
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _sendGate = new();
    private readonly byte[] _sendBuffer;
    private Thread? _receiveThread;
    private long _lastFinalFlight;
    private volatile bool _disposed;

    private DtlsConnection(IDatagramTransport transport, DtlsHandshakeResult handshake)
    {
        _transport = transport;
        _handshake = handshake;
        _records = new DtlsRecordLayer(handshake.Keys);
        _sendBuffer = new byte[transport.MaxDatagramSize];
        MaxApplicationDataSize = transport.MaxDatagramSize - _records.Overhead;
    }

    /// <summary>The negotiated suite, e.g. "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256".</summary>
    public string CipherSuiteName => _handshake.CipherSuiteName;

    public TimeSpan HandshakeTime => _handshake.HandshakeTime;

    /// <summary>
    /// The use_srtp profile (RFC 5764) the handshake agreed, e.g. 7 = SRTP_AEAD_AES_128_GCM, or null. Unused for data,
    /// but werift fails a connection that negotiated none.
    /// </summary>
    public int? SrtpProfile => _handshake.SrtpProfile;

    /// <summary>The largest application datagram one record carries over this path.</summary>
    public int MaxApplicationDataSize { get; }

    /// <summary>Completes when the peer closes (close_notify) or we dispose; faults on a fatal alert or transport failure.</summary>
    public Task Closed => _closed.Task;

    /// <summary>BouncyCastle's record layer, kept only so tests can check ours against it.</summary>
    internal Org.BouncyCastle.Tls.DtlsTransport BouncyCastleTransport => _handshake.BouncyCastleTransport;

    /// <summary>
    /// Runs the handshake in <paramref name="options"/>' role over <paramref name="transport"/>, which the connection
    /// then owns (and disposes on failure).
    /// </summary>
    /// <exception cref="DtlsFingerprintMismatchException">The peer's certificate does not match its SDP fingerprint.</exception>
    /// <exception cref="DtlsHandshakeTimeoutException">No completed handshake within the handshake timeout.</exception>
    /// <exception cref="DtlsAlertException">The peer aborted, e.g. because our certificate did not match.</exception>
    public static async Task<DtlsConnection> HandshakeAsync(IDatagramTransport transport, DtlsConnectionOptions options, CancellationToken cancellationToken = default)
    {
        var result = await DtlsHandshake.RunAsync(transport, options, cancellationToken).ConfigureAwait(false);
        return new DtlsConnection(transport, result);
    }

    /// <summary>Starts the receive thread; <paramref name="handler"/> gets every application datagram, in order of arrival.</summary>
    public void StartReceiving(DtlsDataHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        lock (_closed)
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
            throw new ArgumentException($"A DTLS record here carries at most {MaxApplicationDataSize} bytes.", nameof(data));
        }

        lock (_sendGate)
        {
            data.CopyTo(_sendBuffer.AsSpan(_records.PlaintextOffset));
            var length = _records.Seal(_sendBuffer, data.Length);
            try
            {
                _transport.Send(_sendBuffer.AsSpan(0, length));
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                var failure = new DtlsException($"Sending on the DTLS connection failed: {e.Message}", e);
                _closed.TrySetException(failure);
                throw failure;
            }
        }
    }

    /// <summary>
    /// Sends like <see cref="Send"/>, but a closed or failed connection drops the datagram and returns false, as a
    /// vanished path would: the sink for SCTP packets, whose own timers notice the loss (RFC 9260 §8.1).
    /// </summary>
    public bool TrySend(ReadOnlySpan<byte> data)
    {
        if (_disposed || _closed.Task.IsCompleted)
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
        var buffer = new byte[Math.Max(_transport.MaxDatagramSize, 2048)];
        try
        {
            while (!_disposed)
            {
                var received = _transport.Receive(buffer, ReceiveWait);
                if (received < 0)
                {
                    continue;
                }

                var offset = 0;
                while (true)
                {
                    var kind = _records.Open(buffer.AsSpan(0, received), ref offset, out var plaintext);
                    if (kind == DtlsRecordKind.End)
                    {
                        break;
                    }

                    if (!OnRecord(kind, plaintext, handler))
                    {
                        return;
                    }
                }
            }

            _closed.TrySetResult();
        }
        catch (DatagramTransportClosedException)
        {
            _closed.TrySetResult();
        }
        catch (IOException e)
        {
            _closed.TrySetException(new DtlsException($"The DTLS connection failed: {e.Message}", e));
        }
    }

    /// <summary>Handles one record; false when the connection is over.</summary>
    private bool OnRecord(DtlsRecordKind kind, ReadOnlySpan<byte> plaintext, DtlsDataHandler handler)
    {
        switch (kind)
        {
            case DtlsRecordKind.ApplicationData:
                return Deliver(handler, plaintext);
            case DtlsRecordKind.CloseNotify:
                _closed.TrySetResult();
                return false;
            case DtlsRecordKind.FatalAlert:
                _closed.TrySetException(new DtlsAlertException(Org.BouncyCastle.Tls.AlertDescription.GetName(plaintext[1]), received: true, null));
                return false;
            case DtlsRecordKind.HandshakeRetransmission:
                ResendFinalFlight();
                return true;
            default:
                return true;
        }
    }

    // RFC 6347 §4.2.4: the client repeating its last flight means our final flight was lost; send it again, paced.
    private void ResendFinalFlight()
    {
        var now = Environment.TickCount64;
        if (_handshake.FinalFlight.Count == 0 || now - _lastFinalFlight < FinalFlightInterval.TotalMilliseconds)
        {
            return;
        }

        _lastFinalFlight = now;
        foreach (var datagram in _handshake.FinalFlight)
        {
            _transport.Send(datagram);
        }
    }

    private bool Deliver(DtlsDataHandler handler, ReadOnlySpan<byte> data)
    {
        try
        {
            handler(data);
            return true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A throwing handler must not kill the process from this thread: it ends the connection, visibly.
            _closed.TrySetException(new DtlsException($"The application's receive handler failed: {e.Message}", e));
            _disposed = true;
            _transport.Dispose();
            return false;
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
        lock (_sendGate)
        {
            try
            {
                var length = _records.SealCloseNotify(_sendBuffer);
                _transport.Send(_sendBuffer.AsSpan(0, length));
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                // The path may already be gone; close_notify is best effort.
            }
        }

        _transport.Dispose();
        _closed.TrySetResult();
        if (_receiveThread is { } thread && thread != Thread.CurrentThread && !thread.Join(ReceiveWait * 2))
        {
            return; // still opening a record: leave the ciphers to the finalizer rather than pull them from under it
        }

        _records.Dispose();
        _handshake.Dispose();
    }
}
