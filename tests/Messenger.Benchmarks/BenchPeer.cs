using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Messenger.Contracts.Channels;
using Messenger.Transport;
using Messenger.Transport.DataChannels;
using Messenger.Transport.Ice;
using Messenger.Transport.Sdp;

namespace Messenger.Benchmarks;

/// <summary>
/// One side of a two-process transfer, as users run it: <c>Messenger.Benchmarks peer send TOTAL SIZE</c> offers and
/// sends TOTAL bytes in SIZE-byte messages; <c>peer receive TOTAL</c> answers and hashes what arrives. Signaling is
/// JSON lines on stdin/stdout, the protocol of <c>peers/ndc-peer.mjs</c> (so either side can be libdatachannel):
/// out <c>ready</c>, <c>offer</c>/<c>answer</c>, <c>candidate</c>, <c>open</c> (setupMs at the offerer),
/// <c>result</c>; in <c>start</c> (to the sender), the other side's descriptions and candidates, <c>bye</c>.
/// </summary>
internal static class BenchPeer
{
    private const long HighWater = 4 * 1024 * 1024;
    private const long LowWater = 1024 * 1024;

    public static async Task<int> RunAsync(string[] args)
    {
        var send = args.Length >= 3 && args[0] == "send";
        if (!(send || (args.Length >= 2 && args[0] == "receive")))
        {
            Console.Error.WriteLine("usage: peer send TOTAL SIZE | peer receive TOTAL");
            return 2;
        }

        var total = long.Parse(args[1], CultureInfo.InvariantCulture);
        var size = send ? int.Parse(args[2], CultureInfo.InvariantCulture) : 0;
        var output = new Output();
        var pc = new PeerConnection(new PeerConnectionOptions { Ice = new IceTransportOptions { BindAddress = IPAddress.Loopback, IncludeLoopback = true } });
        await using var connection = pc;
        pc.LocalCandidate += (_, candidate) => output.Write(new JsonObject { ["type"] = "candidate", ["candidate"] = candidate?.ToString() ?? "", ["sdpMid"] = "0" });
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var bye = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var answered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // Signaling is read on a thread of its own: Console.In blocks, and awaited on the pool it would hold one of the
        // two pool threads a 2-core machine starts with for the whole run.
        var signaling = new Thread(() => ReadSignaling(pc, output, start, answered, bye)) { IsBackground = true, Name = "signaling" };
        signaling.Start();
        if (Environment.GetEnvironmentVariable("BENCH_PEER_WARM_UP") == "1")
        {
            // As the CLI does while it waits for its peer: the first connection of the process, where nobody waits.
            await TransportWarmUp.RunAsync();
        }

        output.Write(new JsonObject { ["type"] = "ready" });
        try
        {
            if (send)
            {
                await start.Task;
                var clock = Stopwatch.StartNew();
                double iceMs = 0;
                pc.IceConnectionStateChanged += (_, state) =>
                {
                    if (state is IceConnectionState.Connected or IceConnectionState.Completed && iceMs == 0)
                    {
                        iceMs = clock.Elapsed.TotalMilliseconds;
                    }
                };
                var offer = pc.CreateOffer();
                pc.SetLocalDescription(offer);
                output.Write(new JsonObject { ["type"] = "offer", ["sdp"] = offer.ToString() });
                // The channel is created as soon as both descriptions are set, as an application (and libdatachannel's
                // peer, whose channel makes its offer) does: its DCEP OPEN goes out the moment SCTP is up.
                await answered.Task;
                var channel = pc.CreateDataChannel("bench");
                await pc.Connected;
                var connectedMs = clock.Elapsed.TotalMilliseconds;
                using (var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
                {
                    await PeerConnection.WaitOpenAsync(channel, limit.Token);
                }

                output.Write(new JsonObject { ["type"] = "open", ["setupMs"] = clock.Elapsed.TotalMilliseconds, ["iceMs"] = iceMs, ["connectedMs"] = connectedMs });
                var usage = Usage.Start();
                var hash = await SendAsync(channel, total, size, usage);
                // Reported once the receiver has everything, so the CPU time covers the whole transfer.
                await bye.Task.WaitAsync(TimeSpan.FromMinutes(5));
                // Read off the loop thread once everything arrived: the counters no longer move.
                var sctp = pc.SctpSenderStatistics;
                output.Write(usage.Stop(new JsonObject { ["type"] = "result", ["role"] = "send", ["bytes"] = total, ["sha256"] = hash, ["retransmittedChunks"] = sctp.RetransmittedChunks, ["retransmissionTimeouts"] = sctp.RetransmissionTimeouts, ["randomLossEvents"] = sctp.RandomLossEvents, ["congestiveLossEvents"] = sctp.CongestionLossEvents }, total));
            }
            else
            {
                var channel = await pc.AcceptDataChannelAsync();
                output.Write(new JsonObject { ["type"] = "open" });
                var usage = Usage.Start();
                var clock = Stopwatch.StartNew();
                var (bytes, hash) = await ReceiveAsync(channel, total, usage);
                var seconds = clock.Elapsed.TotalSeconds;
                output.Write(usage.Stop(new JsonObject { ["type"] = "result", ["role"] = "receive", ["bytes"] = bytes, ["sha256"] = hash, ["seconds"] = seconds }, bytes));
            }
        }
        catch (Exception e)
        {
            output.Write(new JsonObject { ["type"] = "error", ["message"] = e.Message });
            return 1;
        }

        return 0;
    }

    private static async Task<string> SendAsync(IDataChannel channel, long total, int size, Usage usage)
    {
        var payload = RandomNumberGenerator.GetBytes(size);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        channel.BufferedAmountLowThreshold = LowWater;
        for (long sent = 0; sent < total; sent += size)
        {
            while (channel.BufferedAmount > HighWater)
            {
                await channel.WaitForBufferedAmountLowAsync();
            }

            var length = (int)Math.Min(size, total - sent);
            channel.Send(payload.AsSpan(0, length));
            hash.AppendData(payload, 0, length);
            if (sent >= total / 2)
            {
                usage.Halfway(sent);
            }
        }

        channel.BufferedAmountLowThreshold = 0;
        while (channel.BufferedAmount > 0)
        {
            await channel.WaitForBufferedAmountLowAsync();
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static async Task<(long Bytes, string Hash)> ReceiveAsync(IDataChannel channel, long total, Usage usage)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long received = 0;
        await foreach (var message in channel.ReceiveAllAsync())
        {
            hash.AppendData(message.Data.Span);
            received += message.Data.Length;
            message.Release(); // hands the pooled buffer back: the steady state allocates nothing
            if (received >= total / 2)
            {
                usage.Halfway(received);
            }

            if (received >= total)
            {
                break;
            }
        }

        return (received, Convert.ToHexStringLower(hash.GetHashAndReset()));
    }

    private static void ReadSignaling(PeerConnection pc, Output output, TaskCompletionSource start, TaskCompletionSource answered, TaskCompletionSource bye)
    {
        while (Console.In.ReadLine() is { } line)
        {
            if (line.Length == 0 || line[0] != '{')
            {
                continue;
            }

            var message = JsonNode.Parse(line)!.AsObject();
            switch ((string?)message["type"])
            {
                case "start":
                    start.TrySetResult();
                    break;
                case "offer":
                    pc.SetRemoteDescription(SessionDescription.Parse((string)message["sdp"]!, SdpType.Offer));
                    var answer = pc.CreateAnswer();
                    pc.SetLocalDescription(answer);
                    output.Write(new JsonObject { ["type"] = "answer", ["sdp"] = answer.ToString() });
                    break;
                case "answer":
                    pc.SetRemoteDescription(SessionDescription.Parse((string)message["sdp"]!, SdpType.Answer));
                    answered.TrySetResult();
                    break;
                case "candidate":
                    var text = (string?)message["candidate"];
                    pc.AddRemoteCandidate(string.IsNullOrEmpty(text) ? null : IceCandidate.Parse(text.StartsWith("a=", StringComparison.Ordinal) ? text[2..] : text));
                    break;
                case "bye":
                    bye.TrySetResult();
                    return;
                default:
                    break;
            }
        }

        bye.TrySetResult();
    }

    /// <summary>stdout, one JSON object per line, from any thread.</summary>
    private sealed class Output
    {
        private readonly Lock _gate = new();

        public void Write(JsonObject message)
        {
            var line = message.ToJsonString();
            lock (_gate)
            {
                Console.Out.WriteLine(line);
                Console.Out.Flush();
            }
        }
    }

    /// <summary>
    /// CPU time, allocations and gen2 collections of this process over the transfer; allocations also over its second
    /// half alone (<see cref="Halfway"/>), the steady state once connection set-up and JIT are behind.
    /// </summary>
    private sealed class Usage(TimeSpan cpu, long allocated, int gen2)
    {
        private long _halfwayAllocated = -1;
        private long _halfwayBytes;

        public static Usage Start() => new(Process.GetCurrentProcess().TotalProcessorTime, GC.GetTotalAllocatedBytes(precise: true), GC.CollectionCount(2));

        /// <summary>Called once, when half the bytes have moved.</summary>
        public void Halfway(long bytes)
        {
            if (_halfwayAllocated < 0)
            {
                _halfwayAllocated = GC.GetTotalAllocatedBytes(precise: true);
                _halfwayBytes = bytes;
            }
        }

        public JsonObject Stop(JsonObject result, long bytes)
        {
            var now = GC.GetTotalAllocatedBytes(precise: true);
            result["cpuSeconds"] = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
            result["allocatedBytesPerMB"] = (now - allocated) / Math.Max(1.0, bytes / 1e6);
            if (_halfwayAllocated >= 0 && bytes > _halfwayBytes)
            {
                result["steadyAllocatedBytesPerMB"] = (now - _halfwayAllocated) / ((bytes - _halfwayBytes) / 1e6);
            }

            result["gen2"] = GC.CollectionCount(2) - gen2;
            return result;
        }
    }
}
