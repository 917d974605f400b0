using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Messenger.Contracts.Channels;
using Messenger.Transport.DataChannels;
using Messenger.Transport.Dtls;
using Messenger.Transport.Tests.DataChannels;
using Xunit.Abstractions;

namespace Messenger.Transport.Tests.Dtls;

/// <summary>The data channel stack end to end: DCEP and SCTP (RFC 8261) inside DTLS over UDP on 127.0.0.1.</summary>
public class SctpOverDtlsTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private sealed class Peer : IAsyncDisposable
    {
        public Peer(DtlsConnection dtls, bool isDtlsClient)
        {
            Dtls = dtls;
            Connection = new DataChannelConnection(new DataChannelConnectionOptions { IsDtlsClient = isDtlsClient }, packet => dtls.TrySend(packet));
            dtls.StartReceiving(Connection.ReceivePacket);
        }

        public DtlsConnection Dtls { get; }

        public DataChannelConnection Connection { get; }

        public async ValueTask DisposeAsync()
        {
            await Connection.DisposeAsync();
            Dtls.Dispose();
        }
    }

    private static async Task<(Peer Client, Peer Server)> ConnectAsync()
    {
        var (clientPath, serverPath) = DtlsLoopback.CreateUdpPair();
        var (client, server) = await DtlsLoopback.ConnectAsync(clientPath, serverPath);
        var a = new Peer(client, isDtlsClient: true);
        var b = new Peer(server, isDtlsClient: false);
        a.Connection.Start();
        b.Connection.Start();
        await Task.WhenAll(a.Connection.Connected, b.Connection.Connected).WaitAsync(Wait);
        return (a, b);
    }

    [Fact]
    public async Task DataChannel_OverDtlsOverUdp_OpensAndCarriesTextAndBinary()
    {
        var (client, server) = await ConnectAsync();
        await using var _ = client;
        await using var __ = server;

        var local = client.Connection.CreateChannel("chat");
        var remote = await server.Connection.AcceptChannelAsync().AsTask().WaitAsync(Wait);
        await DataChannelPair.WaitForStateAsync(local, DataChannelState.Open);
        local.SendText("hello över DTLS");
        local.Send([0, 1, 2, 255]);
        remote.SendText("reply");

        var received = new List<DataChannelMessage>();
        await foreach (var message in remote.ReceiveAllAsync().WithCancellation(new CancellationTokenSource(Wait).Token))
        {
            received.Add(message);
            if (received.Count == 2)
            {
                break;
            }
        }

        Assert.Equal("chat", remote.Label);
        Assert.True(received[0].IsText);
        Assert.Equal("hello över DTLS", Encoding.UTF8.GetString(received[0].Data.Span));
        Assert.False(received[1].IsText);
        Assert.Equal(new byte[] { 0, 1, 2, 255 }, received[1].Data.ToArray());
        await foreach (var reply in local.ReceiveAllAsync().WithCancellation(new CancellationTokenSource(Wait).Token))
        {
            Assert.Equal("reply", Encoding.UTF8.GetString(reply.Data.Span));
            break;
        }
    }

    [Fact]
    public async Task DataChannel_SixteenMebibytes_ArriveWithEqualSha256AndThroughputIsPrinted()
    {
        var (client, server) = await ConnectAsync();
        await using var _ = client;
        await using var __ = server;

        await TransferAsync(client, server, "warm-up", 2 * 1024 * 1024); // JIT, cwnd growth
        var elapsed = await TransferAsync(client, server, "bulk", 16 * 1024 * 1024);

        output.WriteLine($"SCTP data channel over DTLS over loopback UDP: 16 MiB in {elapsed.TotalMilliseconds:0} ms = {16 * 1048576 / elapsed.TotalSeconds / 1e6:0.0} MB/s");
    }

    private static async Task<TimeSpan> TransferAsync(Peer client, Peer server, string label, int total)
    {
        const int MessageSize = 64 * 1024;
        var local = client.Connection.CreateChannel(label);
        var remote = await server.Connection.AcceptChannelAsync().AsTask().WaitAsync(Wait);
        await DataChannelPair.WaitForStateAsync(local, DataChannelState.Open);
        local.BufferedAmountLowThreshold = 1024 * 1024;

        var receiving = Task.Run(async () =>
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long bytes = 0;
            await foreach (var message in remote.ReceiveAllAsync().WithCancellation(new CancellationTokenSource(Wait).Token))
            {
                hash.AppendData(message.Data.Span);
                bytes += message.Data.Length;
                if (bytes >= total)
                {
                    break;
                }
            }

            return (bytes, hash.GetHashAndReset());
        });

        using var senderHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var random = new Random(8261);
        var message = new byte[MessageSize];
        var started = Stopwatch.GetTimestamp();
        for (var sent = 0; sent < total; sent += MessageSize)
        {
            // Backpressure as the host's send scheduler does it: wait for the low event, never poll.
            if (local.BufferedAmount > 4 * 1024 * 1024)
            {
                await local.WaitForBufferedAmountLowAsync().AsTask().WaitAsync(Wait);
            }

            random.NextBytes(message);
            senderHash.AppendData(message);
            local.Send(message);
        }

        var (receivedBytes, receivedHash) = await receiving.WaitAsync(Wait);
        var elapsed = Stopwatch.GetElapsedTime(started);

        Assert.Equal(total, receivedBytes);
        Assert.Equal(senderHash.GetHashAndReset(), receivedHash);
        return elapsed;
    }
}
