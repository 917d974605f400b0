using System.Buffers.Binary;
using System.Diagnostics;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls;

namespace Messenger.Transport.Dtls;

/// <summary>What a completed DTLS handshake hands to the record layer.</summary>
public sealed class DtlsHandshakeResult : IDisposable
{
    private readonly WebRtcTlsCrypto _crypto;

    internal DtlsHandshakeResult(DtlsRecordKeys keys, int? srtpProfile, int namedGroup, TimeSpan time, IReadOnlyList<byte[]> finalFlight, DtlsTransport bouncyCastleTransport, WebRtcTlsCrypto crypto)
    {
        _crypto = crypto;
        NamedGroup = namedGroup;
        Keys = keys;
        SrtpProfile = srtpProfile;
        HandshakeTime = time;
        FinalFlight = finalFlight;
        BouncyCastleTransport = bouncyCastleTransport;
    }

    /// <summary>The record keys and the next epoch-1 sequence number to write.</summary>
    public DtlsRecordKeys Keys { get; }

    /// <summary>The SHA-256 fingerprint of the certificate the peer proved (the one its SDP fingerprint named).</summary>
    public DtlsFingerprint RemoteCertificateSha256 { get; init; } = null!;

    /// <summary>The negotiated suite, e.g. "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256".</summary>
    public string CipherSuiteName => WebRtcDtls.Name(Keys.CipherSuite);

    /// <summary>The use_srtp profile (RFC 5764) the handshake agreed, or null (werift fails without one).</summary>
    public int? SrtpProfile { get; }

    public TimeSpan HandshakeTime { get; }

    /// <summary>The ECDHE group (BouncyCastle's NamedGroup number): the first of the client's that the server has.</summary>
    internal int NamedGroup { get; }

    /// <summary>
    /// The datagrams of our last flight. The server's is the final flight of the handshake: when the client repeats
    /// its own flight (ours was lost), the server sends these again (RFC 6347 §4.2.4). Empty for the client.
    /// </summary>
    public IReadOnlyList<byte[]> FinalFlight { get; }

    /// <summary>BouncyCastle's own record layer after the handshake; only tests use it, to prove ours interoperates.</summary>
    internal DtlsTransport BouncyCastleTransport { get; }

    /// <summary>Releases BouncyCastle's ciphers; the record layer made from <see cref="Keys"/> has its own.</summary>
    public void Dispose() => _crypto.Dispose();
}

/// <summary>
/// Runs the DTLS 1.2 handshake with BouncyCastle (the only part of DTLS it does here) over an
/// <see cref="IDatagramTransport"/>: both sides check the peer's certificate against its SDP fingerprint inside the
/// handshake. Afterwards it derives the record keys (RFC 5246 §6.3) for <see cref="DtlsRecordLayer"/>.
/// </summary>
public static class DtlsHandshake
{
    /// <summary>
    /// Runs the handshake on a thread of its own (BouncyCastle blocks in receive). The transport is closed when the
    /// handshake fails or is cancelled; on success it stays open for the caller.
    /// </summary>
    /// <exception cref="DtlsFingerprintMismatchException">The peer's certificate does not match its SDP fingerprint.</exception>
    /// <exception cref="DtlsHandshakeTimeoutException">No completed handshake within the handshake timeout.</exception>
    /// <exception cref="DtlsAlertException">The peer aborted, e.g. because our certificate did not match.</exception>
    public static Task<DtlsHandshakeResult> RunAsync(IDatagramTransport transport, DtlsConnectionOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(options);
        return Task.Factory.StartNew(
            () => Run(transport, options, cancellationToken),
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
    }

    private static DtlsHandshakeResult Run(IDatagramTransport transport, DtlsConnectionOptions options, CancellationToken cancellationToken)
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
            DtlsRecordKeys? keys;
            int? srtpProfile;
            if (options.Role == DtlsRole.Client)
            {
                var client = new WebRtcDtlsClient(crypto, options, check);
                dtls = new DtlsClientProtocol().Connect(client, adapter);
                keys = client.RecordKeys;
                srtpProfile = client.SrtpProfile;
            }
            else
            {
                var server = new WebRtcDtlsServer(crypto, options, check);
                dtls = new DtlsServerProtocol().Accept(server, adapter);
                keys = server.RecordKeys;
                srtpProfile = server.SrtpProfile;
            }

            // Our first record continues the epoch-1 sequence after the handshake's own (Finished and any resends).
            keys = (keys ?? throw new DtlsException("The DTLS handshake ended without record keys.")) with { NextWriteSequence = adapter.NextEpochOneSequence };
            var flight = options.Role == DtlsRole.Server ? adapter.CurrentFlight : [];
            adapter.StopCapturing();
            return new DtlsHandshakeResult(keys, srtpProfile, crypto.EcdheGroup, Stopwatch.GetElapsedTime(started), flight, dtls, crypto)
            {
                RemoteCertificateSha256 = check.Verified ?? throw new DtlsException("The DTLS handshake ended without checking the peer's certificate."),
            };
        }
        catch (Exception e) when (e is TlsException or IOException)
        {
            adapter.Close();
            crypto.Dispose();
            cancellationToken.ThrowIfCancellationRequested();
            throw Translate(e, check, options);
        }
    }

    /// <summary>RFC 5246 §6.3: key_block = PRF(master_secret, "key expansion", server_random + client_random).</summary>
    internal static DtlsRecordKeys DeriveRecordKeys(TlsContext context, bool isClient, ulong nextWriteSequence)
    {
        var parameters = context.SecurityParameters;
        var (aead, keyLength, ivLength) = parameters.CipherSuite switch
        {
            CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 => (DtlsAead.AesGcm, 16, 4),
            CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 => (DtlsAead.AesGcm, 32, 4),
            CipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 => (DtlsAead.ChaCha20Poly1305, 32, 12),
            var other => throw new DtlsException($"The negotiated cipher suite {WebRtcDtls.Name(other)} is not one we offered."),
        };
        var seed = new byte[parameters.ServerRandom.Length + parameters.ClientRandom.Length];
        parameters.ServerRandom.CopyTo(seed, 0);
        parameters.ClientRandom.CopyTo(seed, parameters.ServerRandom.Length);

        // AEAD suites have no MAC keys: client key, server key, client IV, server IV.
        var block = parameters.MasterSecret.DeriveUsingPrf(parameters.PrfAlgorithm, ExporterLabel.key_expansion, seed, (2 * keyLength) + (2 * ivLength)).Extract();
        return new DtlsRecordKeys
        {
            CipherSuite = parameters.CipherSuite,
            Aead = aead,
            IsClient = isClient,
            ClientWriteKey = block[..keyLength],
            ServerWriteKey = block[keyLength..(2 * keyLength)],
            ClientWriteIv = block[(2 * keyLength)..((2 * keyLength) + ivLength)],
            ServerWriteIv = block[((2 * keyLength) + ivLength)..],
            NextWriteSequence = nextWriteSequence,
        };
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

    /// <summary>The highest epoch-1 sequence number among the records of one datagram we sent, or -1.</summary>
    internal static long HighestEpochOneSequence(ReadOnlySpan<byte> datagram)
    {
        long highest = -1;
        var offset = 0;
        while (datagram.Length - offset >= DtlsRecordLayer.HeaderLength)
        {
            var header = datagram[offset..];
            if (BinaryPrimitives.ReadUInt16BigEndian(header[3..]) == 1)
            {
                var sequence = ((long)BinaryPrimitives.ReadUInt16BigEndian(header[5..]) << 32) | BinaryPrimitives.ReadUInt32BigEndian(header[7..]);
                highest = Math.Max(highest, sequence);
            }

            offset += DtlsRecordLayer.HeaderLength + BinaryPrimitives.ReadUInt16BigEndian(header[11..]);
        }

        return highest;
    }
}
