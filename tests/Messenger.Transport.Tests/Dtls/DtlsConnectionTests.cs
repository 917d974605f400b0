using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Threading.Channels;
using Messenger.Transport.Dtls;
using Xunit.Abstractions;

namespace Messenger.Transport.Tests.Dtls;

public class DtlsConnectionTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private static Channel<byte[]> Collect(DtlsConnection connection)
    {
        var received = Channel.CreateUnbounded<byte[]>();
        connection.StartReceiving(data => received.Writer.TryWrite(data.ToArray()));
        return received;
    }

    [Fact]
    public async Task Handshake_OverLoopbackUdp_NegotiatesAes128GcmAndCarriesDataBothWays()
    {
        var (clientPath, serverPath) = DtlsLoopback.CreateUdpPair();
        var (client, server) = await DtlsLoopback.ConnectAsync(clientPath, serverPath);
        using var _ = client;
        using var __ = server;
        var atServer = Collect(server);
        var atClient = Collect(client);

        client.Send("ping"u8);
        server.Send("pong"u8);

        Assert.Equal("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", client.CipherSuiteName);
        Assert.Equal(client.CipherSuiteName, server.CipherSuiteName);
        Assert.Equal("ping"u8.ToArray(), await atServer.Reader.ReadAsync().AsTask().WaitAsync(Wait));
        Assert.Equal("pong"u8.ToArray(), await atClient.Reader.ReadAsync().AsTask().WaitAsync(Wait));
        output.WriteLine($"handshake (cold-ish, first in test): client {client.HandshakeTime.TotalMilliseconds:0.0} ms, server {server.HandshakeTime.TotalMilliseconds:0.0} ms");
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public async Task Handshake_PlatformAesGcmAgainstBouncyCastleGcm_RecordsInteroperateBothWays(bool clientPlatform, bool serverPlatform)
    {
        var (clientPath, serverPath) = DtlsLoopback.CreateUdpPair();
        var (client, server) = await DtlsLoopback.ConnectAsync(clientPath, serverPath,
            DtlsLoopback.Options(DtlsRole.Client) with { PlatformAesGcm = clientPlatform },
            DtlsLoopback.Options(DtlsRole.Server) with { PlatformAesGcm = serverPlatform });
        using var _ = client;
        using var __ = server;
        var atServer = Collect(server);
        var atClient = Collect(client);
        var messages = Enumerable.Range(0, 20).Select(i => RandomNumberGenerator.GetBytes(i * 60)).ToList();

        foreach (var message in messages)
        {
            client.Send(message);
            server.Send(message);
        }

        Assert.Equal("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", client.CipherSuiteName);
        foreach (var message in messages)
        {
            Assert.Equal(message, await atServer.Reader.ReadAsync().AsTask().WaitAsync(Wait));
            Assert.Equal(message, await atClient.Reader.ReadAsync().AsTask().WaitAsync(Wait));
        }
    }

    [Fact]
    public async Task Handshake_InMemoryPair_Succeeds()
    {
        var (a, b) = QueuedDatagramTransport.CreatePair();
        var (client, server) = await DtlsLoopback.ConnectAsync(a, b);
        using var _ = client;
        using var __ = server;
        var atClient = Collect(client);

        server.Send([1, 2, 3]);

        Assert.Equal(new byte[] { 1, 2, 3 }, await atClient.Reader.ReadAsync().AsTask().WaitAsync(Wait));
    }

    [Fact]
    public async Task Handshake_Warm_MeasuresHandshakeTime()
    {
        var times = new List<double>();
        for (var i = 0; i < 5; i++)
        {
            var (clientPath, serverPath) = DtlsLoopback.CreateUdpPair();
            var started = Stopwatch.GetTimestamp();
            var (client, server) = await DtlsLoopback.ConnectAsync(clientPath, serverPath);
            times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            client.Dispose();
            server.Dispose();
        }

        output.WriteLine($"DTLS handshake over loopback UDP, wall time per run: {string.Join(", ", times.Select(t => $"{t:0.0}"))} ms");
        Assert.Equal(5, times.Count);
    }

    [Fact]
    public async Task Handshake_FirstFlightsLost_CompletesByRetransmissionFrom250Ms()
    {
        // Drop the first two datagrams each way; BouncyCastle's resend timer (set to 250 ms) must recover.
        var droppedAToB = 0;
        var droppedBToA = 0;
        QueuedDatagramTransport? b = null;
        var a = new QueuedDatagramTransport(datagram =>
        {
            if (Interlocked.Increment(ref droppedAToB) > 2)
            {
                b!.Deliver(datagram.Span);
            }
        });
        b = new QueuedDatagramTransport(datagram =>
        {
            if (Interlocked.Increment(ref droppedBToA) > 2)
            {
                a.Deliver(datagram.Span);
            }
        });
        var started = Stopwatch.GetTimestamp();

        var (client, server) = await DtlsLoopback.ConnectAsync(a, b);

        using var _ = client;
        using var __ = server;
        var elapsed = Stopwatch.GetElapsedTime(started);
        output.WriteLine($"handshake with 2 + 2 lost datagrams: {elapsed.TotalMilliseconds:0} ms");
        Assert.InRange(elapsed, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(4));
    }

    [Theory]
    [InlineData(DtlsRole.Client)]
    [InlineData(DtlsRole.Server)]
    public async Task Handshake_WrongExpectedFingerprint_DetectingSideThrowsMismatchOtherSideSeesAlert(DtlsRole detectingSide)
    {
        // A man-in-the-middle's certificate: the detecting side expects it, so the genuine peer's does not match.
        var attacker = DtlsCertificate.Generate();
        var (clientPath, serverPath) = DtlsLoopback.CreateUdpPair();
        var clientOptions = DtlsLoopback.Options(DtlsRole.Client, remote: detectingSide == DtlsRole.Client ? attacker.Fingerprint : null);
        var serverOptions = DtlsLoopback.Options(DtlsRole.Server, remote: detectingSide == DtlsRole.Server ? attacker.Fingerprint : null);

        var serverTask = DtlsConnection.HandshakeAsync(serverPath, serverOptions with { HandshakeTimeout = TimeSpan.FromSeconds(3) });
        var clientTask = DtlsConnection.HandshakeAsync(clientPath, clientOptions with { HandshakeTimeout = TimeSpan.FromSeconds(3) });
        var detecting = detectingSide == DtlsRole.Client ? clientTask : serverTask;
        var other = detectingSide == DtlsRole.Client ? serverTask : clientTask;

        var mismatch = await Assert.ThrowsAsync<DtlsFingerprintMismatchException>(() => detecting.WaitAsync(Wait));
        Assert.Equal(attacker.Fingerprint, mismatch.Expected);
        var genuine = detectingSide == DtlsRole.Client ? DtlsLoopback.ServerCertificate : DtlsLoopback.ClientCertificate;
        Assert.Equal(genuine.Fingerprint, mismatch.Actual);
        Assert.Contains("man-in-the-middle", mismatch.Message, StringComparison.Ordinal);

        // The other side must fail too, never complete: with the alert when it arrives, else by timeout.
        var failure = await Assert.ThrowsAnyAsync<DtlsException>(() => other.WaitAsync(Wait));
        output.WriteLine($"{detectingSide} detected: {mismatch.Message}");
        output.WriteLine($"other side: {failure.GetType().Name}: {failure.Message}");
        if (failure is DtlsAlertException alert)
        {
            Assert.Equal("bad_certificate", alert.Alert);
            Assert.True(alert.Received);
        }
    }

    [Fact]
    public async Task Handshake_SwappedFingerprints_BothSidesFail()
    {
        var (clientPath, serverPath) = DtlsLoopback.CreateUdpPair();

        // Each side expects its own fingerprint instead of the peer's, as a mixed-up signalling layer would give.
        var clientOptions = DtlsLoopback.Options(DtlsRole.Client, remote: DtlsLoopback.ClientCertificate.Fingerprint) with { HandshakeTimeout = TimeSpan.FromSeconds(3) };
        var serverOptions = DtlsLoopback.Options(DtlsRole.Server, remote: DtlsLoopback.ServerCertificate.Fingerprint) with { HandshakeTimeout = TimeSpan.FromSeconds(3) };
        var serverTask = DtlsConnection.HandshakeAsync(serverPath, serverOptions);
        var clientTask = DtlsConnection.HandshakeAsync(clientPath, clientOptions);

        // The client sees the server certificate first, so it is the one that detects the mismatch.
        await Assert.ThrowsAsync<DtlsFingerprintMismatchException>(() => clientTask.WaitAsync(Wait));
        await Assert.ThrowsAnyAsync<DtlsException>(() => serverTask.WaitAsync(Wait));
    }

    [Fact]
    public async Task Handshake_PersistedCertificate_StillMatchesPublishedFingerprint()
    {
        var original = DtlsCertificate.Generate();
        var published = DtlsFingerprint.Parse(original.Fingerprint.ToString());
        var restored = DtlsCertificate.ImportPem(original.ExportPem());
        var (clientPath, serverPath) = DtlsLoopback.CreateUdpPair();

        var (client, server) = await DtlsLoopback.ConnectAsync(
            clientPath,
            serverPath,
            DtlsLoopback.Options(DtlsRole.Client, remote: published),
            DtlsLoopback.Options(DtlsRole.Server, certificate: restored));

        using var _ = client;
        using var __ = server;
        Assert.Equal(published, restored.Fingerprint);
    }

    [Theory]
    [InlineData(DtlsRole.Client)]
    [InlineData(DtlsRole.Server)]
    public async Task Handshake_PeerNeverAnswers_ThrowsTimeoutWithinBound(DtlsRole role)
    {
        using var silentPeer = DtlsLoopback.Bind();
        var socket = DtlsLoopback.Bind();
        var path = new UdpDatagramTransport(socket, (IPEndPoint)silentPeer.LocalEndPoint!);
        var options = DtlsLoopback.Options(role) with { HandshakeTimeout = TimeSpan.FromSeconds(1) };
        var started = Stopwatch.GetTimestamp();

        var error = await Assert.ThrowsAsync<DtlsHandshakeTimeoutException>(() => DtlsConnection.HandshakeAsync(path, options).WaitAsync(Wait));

        var elapsed = Stopwatch.GetElapsedTime(started);
        Assert.InRange(elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(5));
        Assert.Contains("did not complete", error.Message, StringComparison.Ordinal);
        if (role == DtlsRole.Client)
        {
            // The ClientHello was retransmitted from 250 ms on (RFC 6347 §4.2.4), so the silent peer got several.
            var pending = silentPeer.Available;
            Assert.True(pending > 0);
        }
    }

    [Fact]
    public async Task HandshakeAsync_Cancelled_StopsPromptly()
    {
        using var silentPeer = DtlsLoopback.Bind();
        var path = new UdpDatagramTransport(DtlsLoopback.Bind(), (IPEndPoint)silentPeer.LocalEndPoint!);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => DtlsConnection.HandshakeAsync(path, DtlsLoopback.Options(DtlsRole.Client), cancel.Token).WaitAsync(Wait));
    }

    [Fact]
    public async Task Send_FullSizeRecordsAndOversized_FullSizeArriveOversizedIsRefused()
    {
        var (clientPath, serverPath) = DtlsLoopback.CreateUdpPair();
        var (client, server) = await DtlsLoopback.ConnectAsync(clientPath, serverPath);
        using var _ = client;
        using var __ = server;
        var atServer = Collect(server);

        Assert.True(client.MaxApplicationDataSize >= 1200, $"max {client.MaxApplicationDataSize}");
        Assert.Throws<ArgumentException>(() => client.Send(new byte[client.MaxApplicationDataSize + 1]));
        var records = Enumerable.Range(0, 50).Select(i => Enumerable.Repeat((byte)i, 1200).ToArray()).ToList();
        records.Add(new byte[client.MaxApplicationDataSize]);
        foreach (var record in records)
        {
            client.Send(record);
        }

        foreach (var record in records)
        {
            Assert.Equal(record, await atServer.Reader.ReadAsync().AsTask().WaitAsync(Wait));
        }
    }

    [Fact]
    public async Task Dispose_SendsCloseNotify_PeerClosedCompletes()
    {
        var (clientPath, serverPath) = DtlsLoopback.CreateUdpPair();
        var (client, server) = await DtlsLoopback.ConnectAsync(clientPath, serverPath);
        using var __ = server;
        Collect(server);

        client.Dispose();

        await server.Closed.WaitAsync(Wait);
        await client.Closed.WaitAsync(Wait);
        Assert.Throws<ObjectDisposedException>(() => client.Send([1]));
        Assert.False(client.TrySend([1]));
        Assert.False(server.TrySend([1]));
    }

    [Fact]
    public async Task StartReceiving_HandlerThrows_ClosedFaultsWithTheCause()
    {
        var (a, b) = QueuedDatagramTransport.CreatePair();
        var (client, server) = await DtlsLoopback.ConnectAsync(a, b);
        using var _ = client;
        using var __ = server;
        server.StartReceiving(_ => throw new InvalidOperationException("handler bug"));

        client.Send([1]);

        var error = await Assert.ThrowsAsync<DtlsException>(() => server.Closed.WaitAsync(Wait));
        Assert.IsType<InvalidOperationException>(error.InnerException);
    }

    [Fact]
    public async Task Send_FourMebibytesOfRecords_ArriveIntactAndThroughputIsPrinted()
    {
        const int RecordSize = 1200;
        const int Window = 512;
        var (clientPath, serverPath) = DtlsLoopback.CreateUdpPair();
        var (client, server) = await DtlsLoopback.ConnectAsync(clientPath, serverPath);
        using var _ = client;
        using var __ = server;

        // DTLS is unreliable like UDP: the receiver reports progress so the sender keeps at most a window in flight.
        using var receiverHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var receivedCount = 0;
        var target = 0;
        var progress = new SemaphoreSlim(0);
        TaskCompletionSource? done = null;
        server.StartReceiving(data =>
        {
            receiverHash.AppendData(data);
            if (++receivedCount % (Window / 4) == 0)
            {
                progress.Release();
            }

            if (receivedCount == Volatile.Read(ref target))
            {
                done!.TrySetResult();
            }
        });

        using var senderHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var record = new byte[RecordSize];
        async Task<TimeSpan> TransferAsync(int records)
        {
            var first = receivedCount;
            done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref target, first + records);
            var started = Stopwatch.GetTimestamp();
            for (var i = 0; i < records; i++)
            {
                if (i >= Window && i % (Window / 4) == 0)
                {
                    Assert.True(await progress.WaitAsync(Wait), "receiver stalled: a record was lost");
                }

                System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(record, first + i);
                senderHash.AppendData(record);
                client.Send(record);
            }

            await done.Task.WaitAsync(Wait);
            while (progress.CurrentCount > 0)
            {
                await progress.WaitAsync(Wait);
            }

            return Stopwatch.GetElapsedTime(started);
        }

        await TransferAsync(Window * 2); // warm-up: JIT and socket buffers
        const int Records = 4 * 1024 * 1024 / RecordSize / (Window / 4) * (Window / 4);
        var elapsed = await TransferAsync(Records);

        Assert.Equal(senderHash.GetHashAndReset(), receiverHash.GetHashAndReset());
        output.WriteLine($"DTLS application data over loopback UDP: {Records} x {RecordSize} B in {elapsed.TotalMilliseconds:0} ms = {Records * (double)RecordSize / elapsed.TotalSeconds / 1e6:0.0} MB/s");
    }
}
