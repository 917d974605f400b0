using System.Security.Cryptography;
using System.Threading.Channels;
using Messenger.Transport.Dtls;
using Org.BouncyCastle.Tls;

namespace Messenger.Transport.Tests.Dtls;

/// <summary>
/// Our record layer (used once BouncyCastle's handshake is done) against BouncyCastle's own record layer on the other
/// end of the same handshake, for every suite we offer; and what it drops (replays, forgeries, other epochs).
/// </summary>
public class DtlsRecordLayerTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    public static TheoryData<int> Suites() => new()
    {
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    };

    [Theory]
    [MemberData(nameof(Suites))]
    public async Task RecordLayer_AgainstBouncyCastlesRecordLayer_InteroperatesBothWays(int suite)
    {
        var (clientPath, serverPath) = QueuedDatagramTransport.CreatePair();
        using var _ = clientPath;
        using var __ = serverPath;
        var (client, server) = await HandshakeAsync(clientPath, serverPath, suite);
        using var ___ = client;
        using var ____ = server;
        using var ours = new DtlsRecordLayer(server.Keys);
        Assert.Equal(suite, ours.CipherSuite);
        var messages = Enumerable.Range(0, 30).Select(i => RandomNumberGenerator.GetBytes(1 + (i * 40))).ToList();

        // BouncyCastle seals (client), we open (server).
        foreach (var message in messages)
        {
            client.BouncyCastleTransport.Send(message, 0, message.Length);
            var datagram = new byte[2048];
            var length = serverPath.Receive(datagram, Wait);
            var offset = 0;
            Assert.Equal(DtlsRecordKind.ApplicationData, ours.Open(datagram.AsSpan(0, length), ref offset, out var plaintext));
            Assert.Equal(message, plaintext.ToArray());
            Assert.Equal(length, offset);
        }

        // We seal (server), BouncyCastle opens (client).
        foreach (var message in messages)
        {
            var record = new byte[message.Length + ours.Overhead];
            message.CopyTo(record, ours.PlaintextOffset);
            serverPath.Send(record.AsSpan(0, ours.Seal(record, message.Length)));
            var received = new byte[2048];
            var length = client.BouncyCastleTransport.Receive(received, 0, received.Length, (int)Wait.TotalMilliseconds);
            Assert.Equal(message, received[..length]);
        }

        // Our close_notify ends BouncyCastle's side as a close (it closes its path), not as a fatal alert.
        var close = new byte[64];
        serverPath.Send(close.AsSpan(0, ours.SealCloseNotify(close)));
        try
        {
            Assert.Equal(-1, client.BouncyCastleTransport.Receive(new byte[2048], 0, 2048, (int)Wait.TotalMilliseconds));
        }
        catch (DatagramTransportClosedException)
        {
            // BouncyCastle closed the transport on close_notify and reports it at the read after.
        }

        Assert.Throws<ObjectDisposedException>(() => clientPath.Send([1]));
    }

    [Fact]
    public async Task Open_ReplayForgeryOtherEpochOrTruncation_IsDropped_CloseNotifyIsReported()
    {
        var (clientPath, serverPath) = QueuedDatagramTransport.CreatePair();
        using var clientPathOwner = clientPath;
        using var serverPathOwner = serverPath;
        var (client, server) = await HandshakeAsync(clientPath, serverPath, CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256);
        using var clientOwner = client;
        using var serverOwner = server;
        using var sender = new DtlsRecordLayer(client.Keys);
        using var receiver = new DtlsRecordLayer(server.Keys);
        byte[] Seal(string text)
        {
            var record = new byte[text.Length + sender.Overhead];
            System.Text.Encoding.ASCII.GetBytes(text).CopyTo(record, sender.PlaintextOffset);
            return record[..sender.Seal(record, text.Length)];
        }

        DtlsRecordKind Open(byte[] datagram, out string text)
        {
            var copy = datagram.ToArray();
            var offset = 0;
            var kind = receiver.Open(copy, ref offset, out var plaintext);
            text = System.Text.Encoding.ASCII.GetString(plaintext);
            return kind;
        }

        var first = Seal("first");
        var second = Seal("second");
        var third = Seal("third");
        Assert.Equal(DtlsRecordKind.ApplicationData, Open(second, out var text));
        Assert.Equal("second", text);
        Assert.Equal(DtlsRecordKind.ApplicationData, Open(first, out text)); // reordered, inside the window: fine
        Assert.Equal("first", text);
        Assert.Equal(DtlsRecordKind.Dropped, Open(second, out _)); // a replay
        var forged = third.ToArray();
        forged[^3] ^= 1;
        Assert.Equal(DtlsRecordKind.Dropped, Open(forged, out _));
        var otherEpoch = third.ToArray();
        otherEpoch[4] = 2;
        Assert.Equal(DtlsRecordKind.Dropped, Open(otherEpoch, out _));
        Assert.Equal(DtlsRecordKind.Dropped, Open(third[..^1], out _));
        Assert.Equal(DtlsRecordKind.ApplicationData, Open(third, out text)); // the forgeries did not burn its sequence number
        Assert.Equal("third", text);

        // Two records in one datagram (RFC 6347 §4.1.1): both come out, then the end.
        var both = Seal("a").Concat(Seal("bb")).ToArray();
        var offset = 0;
        Assert.Equal(DtlsRecordKind.ApplicationData, receiver.Open(both, ref offset, out var a));
        Assert.Equal("a"u8.ToArray(), a.ToArray());
        Assert.Equal(DtlsRecordKind.ApplicationData, receiver.Open(both, ref offset, out var bb));
        Assert.Equal("bb"u8.ToArray(), bb.ToArray());
        Assert.Equal(DtlsRecordKind.End, receiver.Open(both, ref offset, out _));

        var close = new byte[64];
        var closeLength = sender.SealCloseNotify(close);
        offset = 0;
        Assert.Equal(DtlsRecordKind.CloseNotify, receiver.Open(close.AsSpan(0, closeLength), ref offset, out _));
    }

    [Fact]
    public async Task Handshake_ServersFinalFlightLost_ClientRepeatsItsFlight_ServerResendsAndBothConnect()
    {
        // Drops the server's first epoch-1 datagram (its ChangeCipherSpec/Finished flight) once.
        QueuedDatagramTransport? client = null;
        QueuedDatagramTransport? server = null;
        var dropped = 0;
        client = new QueuedDatagramTransport((Messenger.Transport.Dtls.DatagramSender)(d => server!.Deliver(d)));
        server = new QueuedDatagramTransport((Messenger.Transport.Dtls.DatagramSender)(d =>
        {
            if (DtlsHandshake.HighestEpochOneSequence(d) >= 0 && Interlocked.Exchange(ref dropped, 1) == 0)
            {
                return;
            }

            client.Deliver(d);
        }));

        var serverTask = DtlsConnection.HandshakeAsync(server, DtlsLoopback.Options(DtlsRole.Server));
        var clientTask = DtlsConnection.HandshakeAsync(client, DtlsLoopback.Options(DtlsRole.Client));
        using var atServer = await serverTask.WaitAsync(Wait);

        // The server is done; its receive loop must answer the client's repeated flight with the final flight.
        var received = Channel.CreateUnbounded<byte[]>();
        atServer.StartReceiving(data => received.Writer.TryWrite(data.ToArray()));
        using var atClient = await clientTask.WaitAsync(Wait);
        Assert.Equal(1, dropped);
        atClient.Send("after the loss"u8);
        Assert.Equal("after the loss"u8.ToArray(), await received.Reader.ReadAsync().AsTask().WaitAsync(Wait));
    }

    private static async Task<(DtlsHandshakeResult Client, DtlsHandshakeResult Server)> HandshakeAsync(IDatagramTransport clientPath, IDatagramTransport serverPath, int suite)
    {
        var serverTask = DtlsHandshake.RunAsync(serverPath, DtlsLoopback.Options(DtlsRole.Server) with { CipherSuites = [suite] });
        var clientTask = DtlsHandshake.RunAsync(clientPath, DtlsLoopback.Options(DtlsRole.Client) with { CipherSuites = [suite] });
        await Task.WhenAll(serverTask, clientTask).WaitAsync(Wait);
        return (clientTask.Result, serverTask.Result);
    }
}
