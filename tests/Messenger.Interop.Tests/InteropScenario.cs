using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Messenger.Contracts.Channels;
using Messenger.Transport;
using Messenger.Transport.Ice;
using Messenger.Transport.Sdp;
using Xunit.Abstractions;

namespace Messenger.Interop.Tests;

/// <summary>What one interop run measured, printed by the test and quoted in notes.</summary>
public sealed record InteropResult(string Remote, bool MessengerOffered, double SetupMs, double MessengerToRemoteMBps, double RemoteToMessengerMBps, bool WarmedUp = true)
{
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"{(MessengerOffered ? "messenger offers, " + Remote + " answers" : Remote + " offers, messenger answers")}: setup {SetupMs:0} ms (offer created → channel open, at the offerer{(WarmedUp ? "; our process warmed up as the CLI does" : "")}), "
        + $"messenger>{Remote} {MessengerToRemoteMBps:0.0} MB/s, {Remote}>messenger {RemoteToMessengerMBps:0.0} MB/s");
}

/// <summary>
/// The one scenario every real peer runs against our PeerConnection (peers/README.md): negotiate over the peer's
/// signaling, open the "interop" channel, ping text, echo binary, one message at the peer's max-message-size each
/// way, 64 MiB each way with SHA-256 equality, then a clean close that the peer sees.
/// </summary>
public static class InteropScenario
{
    public const string Label = "interop";
    public const long DefaultBulkBytes = 64L * 1024 * 1024;

    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(30);

    public static async Task<InteropResult> RunAsync(IRemotePeer remote, bool messengerOffers, ITestOutputHelper output, long bulkBytes = DefaultBulkBytes, TimeSpan? timeout = null)
    {
        LoopbackOnlyNetwork.Require();

        // As the CLI does while it waits for its peer (PeerLink): our side's first connection, where nobody waits. The
        // peer's process is as cold as its own harness leaves it.
        var warmedUp = await TransportWarmUp.RunAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(4));
        var ct = cts.Token;
        var pc = new PeerConnection(new PeerConnectionOptions
        {
            Ice = new IceTransportOptions { BindAddress = IPAddress.Loopback },
        });
        await using var _ = pc;
        var signals = new Negotiation(remote, pc, output);
        var pump = signals.PumpAsync(ct);
        IDataChannel channel;
        double setupMs;
        if (messengerOffers)
        {
            var started = Stopwatch.GetTimestamp();
            var offer = pc.CreateOffer();
            pc.SetLocalDescription(offer);
            await remote.SendAsync(new JsonObject { ["type"] = "offer", ["sdp"] = offer.ToString() }, ct);
            await signals.RemoteDescriptionSet.Task.WaitAsync(ConnectTimeout, ct);
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
            limit.CancelAfter(ConnectTimeout);
            channel = await pc.OpenDataChannelAsync(Label, limit.Token);
            setupMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }
        else
        {
            await remote.SendAsync(new JsonObject { ["type"] = "start" }, ct);
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
            limit.CancelAfter(ConnectTimeout);
            channel = await pc.AcceptDataChannelAsync(limit.Token);
            var open = await signals.Opened.Task.WaitAsync(ConnectTimeout, ct);
            setupMs = (double?)open["setupMs"] ?? double.NaN;
        }

        Assert.Equal(Label, channel.Label);
        output.WriteLine($"{remote.Name}: channel open; the peer accepts messages up to {pc.RemoteMaxMessageSize} bytes");
        var inbox = Channel.CreateUnbounded<DataChannelMessage>();
        var reader = ReadAsync(channel, inbox.Writer, ct);

        // Text both ways, non-ASCII included.
        const string Ping = "hej från Messenger ✓";
        channel.SendText("ping:" + Ping);
        Assert.Equal("pong:" + Ping, await NextTextAsync(inbox.Reader, ct));

        // Binary echo, including every byte value.
        var small = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        var medium = RandomNumberGenerator.GetBytes(50_000);
        channel.Send(small);
        channel.Send(medium);
        Assert.Equal(small, await NextBinaryAsync(inbox.Reader, ct));
        Assert.Equal(medium, await NextBinaryAsync(inbox.Reader, ct));

        // One message at the peer's limit, and one at ours from the peer.
        var remoteMax = pc.RemoteMaxMessageSize == int.MaxValue ? 262144 : pc.RemoteMaxMessageSize;
        var big = RandomNumberGenerator.GetBytes(remoteMax);
        channel.SendText($"sink:{remoteMax}");
        channel.Send(big);
        Assert.Equal($"sunk:{remoteMax}:{Convert.ToHexStringLower(SHA256.HashData(big))}", await NextTextAsync(inbox.Reader, ct));
        var ourMax = channel.MaxMessageSize > 0 ? Math.Min(SessionDescription.DefaultMaxMessageSize, remoteMax) : remoteMax;
        channel.SendText($"source:{ourMax}:{ourMax}");
        var (sourcedBig, _) = await ReceiveBulkAsync(inbox.Reader, ourMax, ct);
        Assert.Equal(ourMax, sourcedBig);

        // Bulk, our way: backpressured by bufferedAmount, SHA-256 compared at the peer.
        var sendMBps = await SendBulkAsync(channel, inbox.Reader, bulkBytes, Math.Min(65536, remoteMax), ct);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"messenger>{remote.Name}: {bulkBytes >> 20} MiB at {sendMBps:0.0} MB/s"));

        // Bulk, their way.
        var receiveStarted = Stopwatch.GetTimestamp();
        channel.SendText($"source:{bulkBytes}:{Math.Min(65536, ourMax)}");
        var (received, _) = await ReceiveBulkAsync(inbox.Reader, bulkBytes, ct);
        var receiveMBps = received / 1e6 / Stopwatch.GetElapsedTime(receiveStarted).TotalSeconds;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{remote.Name}>messenger: {bulkBytes >> 20} MiB at {receiveMBps:0.0} MB/s"));

        // A clean close: our channel close reaches the peer, which reports it and exits 0.
        await channel.CloseAsync(ct);
        await signals.Closed.Task.WaitAsync(ConnectTimeout, ct);
        await pc.CloseAsync();
        Assert.Equal(0, await remote.WaitForExitAsync(ct).WaitAsync(ConnectTimeout, ct));
        await cts.CancelAsync();
        await IgnoreCancellation(reader);
        await IgnoreCancellation(pump);

        var result = new InteropResult(remote.Name, messengerOffers, setupMs, sendMBps, receiveMBps, warmedUp);
        output.WriteLine(result.ToString());
        return result;
    }

    private static async Task ReadAsync(IDataChannel channel, ChannelWriter<DataChannelMessage> inbox, CancellationToken ct)
    {
        try
        {
            await foreach (var message in channel.ReceiveAllAsync(ct))
            {
                inbox.TryWrite(message);
            }

            inbox.TryComplete();
        }
        catch (Exception ex)
        {
            inbox.TryComplete(ex);
        }
    }

    private static async Task<string> NextTextAsync(ChannelReader<DataChannelMessage> inbox, CancellationToken ct)
    {
        var message = await inbox.ReadAsync(ct);
        Assert.True(message.IsText, $"expected a text message, got {message.Data.Length} binary bytes");
        return Encoding.UTF8.GetString(message.Data.Span);
    }

    private static async Task<byte[]> NextBinaryAsync(ChannelReader<DataChannelMessage> inbox, CancellationToken ct)
    {
        var message = await inbox.ReadAsync(ct);
        Assert.False(message.IsText, $"expected a binary message, got text '{Encoding.UTF8.GetString(message.Data.Span)}'");
        return message.Data.ToArray();
    }

    private static async Task<double> SendBulkAsync(IDataChannel channel, ChannelReader<DataChannelMessage> inbox, long total, int chunkSize, CancellationToken ct)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var chunk = new byte[chunkSize];
        var random = new Random(5);
        channel.BufferedAmountLowThreshold = 1024 * 1024;
        channel.SendText($"sink:{total}");
        var started = Stopwatch.GetTimestamp();
        for (long sent = 0; sent < total; sent += chunkSize)
        {
            var length = (int)Math.Min(chunkSize, total - sent);
            random.NextBytes(chunk.AsSpan(0, length));
            hash.AppendData(chunk, 0, length);
            while (channel.BufferedAmount > 4 * 1024 * 1024)
            {
                await channel.WaitForBufferedAmountLowAsync(ct);
            }

            channel.Send(chunk.AsSpan(0, length));
        }

        var expected = $"sunk:{total}:{Convert.ToHexStringLower(hash.GetHashAndReset())}";
        Assert.Equal(expected, await NextTextAsync(inbox, ct));
        return total / 1e6 / Stopwatch.GetElapsedTime(started).TotalSeconds;
    }

    /// <summary>Hashes binary messages until the peer's "sourced:N:sha256"; asserts the count and hash match.</summary>
    private static async Task<(long Bytes, string Hash)> ReceiveBulkAsync(ChannelReader<DataChannelMessage> inbox, long expected, CancellationToken ct)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long received = 0;
        while (true)
        {
            var message = await inbox.ReadAsync(ct);
            if (!message.IsText)
            {
                hash.AppendData(message.Data.Span);
                received += message.Data.Length;
                Assert.True(received <= expected, $"the peer sent more than the {expected} bytes asked for");
                continue;
            }

            var text = Encoding.UTF8.GetString(message.Data.Span);
            var digest = Convert.ToHexStringLower(hash.GetHashAndReset());
            Assert.Equal($"sourced:{expected}:{digest}", text);
            Assert.Equal(expected, received);
            return (received, digest);
        }
    }

    private static async Task IgnoreCancellation(Task task)
    {
        try
        {
            await task;
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Applies the peer's signaling messages to our connection and trickles ours to it.</summary>
    private sealed class Negotiation
    {
        private readonly IRemotePeer _remote;
        private readonly PeerConnection _pc;
        private readonly ITestOutputHelper _output;

        public Negotiation(IRemotePeer remote, PeerConnection pc, ITestOutputHelper output)
        {
            _remote = remote;
            _pc = pc;
            _output = output;
            pc.LocalCandidate += (_, candidate) =>
            {
                var message = new JsonObject { ["type"] = "candidate", ["candidate"] = candidate?.ToString() ?? "", ["sdpMid"] = "0" };
                _ = remote.SendAsync(message, CancellationToken.None);
            };
        }

        public TaskCompletionSource RemoteDescriptionSet { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource<JsonObject> Opened { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Closed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task PumpAsync(CancellationToken ct)
        {
            try
            {
                await foreach (var message in _remote.ReadAllAsync(ct))
                {
                    await HandleAsync(message, ct);
                }

                Fail(new InvalidOperationException($"{_remote.Name} stopped signaling (it exited)."));
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Fail(ex);
            }
        }

        private async Task HandleAsync(JsonObject message, CancellationToken ct)
        {
            switch ((string?)message["type"])
            {
                case "offer":
                    _pc.SetRemoteDescription(SessionDescription.Parse((string)message["sdp"]!, SdpType.Offer));
                    var answer = _pc.CreateAnswer();
                    _pc.SetLocalDescription(answer);
                    await _remote.SendAsync(new JsonObject { ["type"] = "answer", ["sdp"] = answer.ToString() }, ct);
                    RemoteDescriptionSet.TrySetResult();
                    break;
                case "answer":
                    _pc.SetRemoteDescription(SessionDescription.Parse((string)message["sdp"]!, SdpType.Answer));
                    RemoteDescriptionSet.TrySetResult();
                    break;
                case "candidate":
                    var text = (string?)message["candidate"];
                    _pc.AddRemoteCandidate(string.IsNullOrEmpty(text) ? null : IceCandidate.Parse(text));
                    break;
                case "open":
                    Opened.TrySetResult(message);
                    break;
                case "closed":
                    Closed.TrySetResult();
                    break;
                case "error":
                    // Also in the output: a wait that does not watch these signals (the remote's channel) only times out.
                    _output.WriteLine($"[{_remote.Name}] error: {(string?)message["message"]}");
                    Fail(new InvalidOperationException($"{_remote.Name} reported: {(string?)message["message"]}"));
                    break;
                default:
                    _output.WriteLine($"[{_remote.Name}] unexpected message {message.ToJsonString()}");
                    break;
            }
        }

        private void Fail(Exception ex)
        {
            RemoteDescriptionSet.TrySetException(ex);
            Opened.TrySetException(ex);
            Closed.TrySetException(ex);
        }
    }
}
