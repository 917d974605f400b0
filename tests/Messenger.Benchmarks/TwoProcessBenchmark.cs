using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Messenger.TestSupport;

namespace Messenger.Benchmarks;

/// <summary>
/// Throughput as users run it: sender and receiver each in its own process (<see cref="BenchPeer"/> for Messenger,
/// <c>peers/ndc-peer.mjs</c> for libdatachannel), every pairing in the same run, so the ratio to libdatachannel is
/// measured under the same load. The receiver times from channel open to the last byte and hashes everything.
/// Run inside a loopback-only namespace. PROCESSES_TOTALS (MiB, "64,512"), PROCESSES_SIZES (KiB, "16,64"),
/// PROCESSES_ROUNDS (3) and PROCESSES_PAIRS ("ldc>ldc,msg>msg,ldc>msg,msg>ldc") narrow a run. PROCESSES_IMPAIR
/// ("50:0.01" = 50 ms round trip, 1 % loss each way; several separated by commas) sends every datagram through a
/// seeded <see cref="ImpairedUdpRelay"/>: both peers' candidates are rewritten to point at it, for libdatachannel
/// exactly as for us.
/// </summary>
internal static partial class TwoProcessBenchmark
{
    private static readonly TimeSpan RunLimit = TimeSpan.FromMinutes(3);

    public static async Task RunAsync()
    {
        var peers = await ReferencePeers.LocateAsync();
        if (peers is null)
        {
            return;
        }

        // One unmeasured Messenger run first: the disk cache and the runtime's own files warm up, not our JIT.
        await RunPairAsync(peers, "msg", "msg", 8L << 20, 64 << 10);
        if (Environment.GetEnvironmentVariable("PROCESSES_ONLY") != "setup")
        {
            await MeasureThroughputAsync(peers);
        }

        await MeasureSetupAsync(peers, int.Parse(Environment.GetEnvironmentVariable("PROCESSES_SETUP_ROUNDS") ?? "7", CultureInfo.InvariantCulture));
    }

    private static async Task MeasureThroughputAsync(string peers)
    {
        var totals = List("PROCESSES_TOTALS", "64,512").Select(t => long.Parse(t, CultureInfo.InvariantCulture) << 20).ToList();
        var sizes = List("PROCESSES_SIZES", "16,64").Select(s => int.Parse(s, CultureInfo.InvariantCulture) << 10).ToList();
        var rounds = int.Parse(Environment.GetEnvironmentVariable("PROCESSES_ROUNDS") ?? "3", CultureInfo.InvariantCulture);
        var pairs = List("PROCESSES_PAIRS", "ldc>ldc,msg>msg,ldc>msg,msg>ldc").Select(p => p.Split('>')).Select(p => (Sender: p[0], Receiver: p[1])).ToList();
        var links = Environment.GetEnvironmentVariable("PROCESSES_IMPAIR") is { Length: > 0 } impair
            ? impair.Split(',').Select(l => l.Split(':')).Select(l => (Impairment?)new Impairment
            {
                Delay = TimeSpan.FromMilliseconds(double.Parse(l[0], CultureInfo.InvariantCulture) / 2),
                Loss = l.Length > 1 ? double.Parse(l[1], CultureInfo.InvariantCulture) : 0,
            }).ToList()
            : [null];

        var table = new Table("link", "total", "message", "sender > receiver", "MB/s (each round)", "median", "× ldc>ldc", "setup ms (median)", "CPU s/GB send / receive", "alloc B/MB send / receive (whole run)", "steady alloc B/MB send / receive (2nd half)", "gen2 send / receive", "sender retransmitted chunks / T3 / loss events random:congestive", "load");
        foreach (var link in links)
        foreach (var total in totals)
        {
            foreach (var size in sizes)
            {
                var results = pairs.ToDictionary(p => p, _ => new List<PairResult>());
                for (var round = 0; round < rounds; round++)
                {
                    // Interleaved, so a noisy moment hits every pairing alike.
                    foreach (var pair in pairs)
                    {
                        results[pair].Add(await RunPairAsync(peers, pair.Sender, pair.Receiver, total, size, link, seed: round + 1));
                    }
                }

                var reference = results.TryGetValue(("ldc", "ldc"), out var ldc) ? Median(ldc.Where(r => r.Ok).Select(r => r.MBps)) : double.NaN;
                foreach (var (pair, list) in results)
                {
                    var ok = list.Where(r => r.Ok).ToList();
                    var median = Median(ok.Select(r => r.MBps));
                    table.Add(
                        link is null ? "loopback" : $"{link.Delay.TotalMilliseconds * 2:0} ms RTT, {link.Loss:P0} loss",
                        $"{total >> 20} MiB",
                        $"{size >> 10} KiB",
                        $"{Name(pair.Sender)} > {Name(pair.Receiver)}",
                        string.Join(" ", list.Select(r => r.Ok ? F(r.MBps, r.MBps < 10 ? "F2" : "F0") : r.Error)),
                        F(median, median < 10 ? "F2" : "F0"),
                        double.IsNaN(reference) ? "" : F(median / reference, "F2") + "×",
                        F(Median(ok.Select(r => r.SetupMs)), "F0"),
                        $"{F(Median(ok.Select(r => r.SenderCpu / (total / 1e9))), "F2")} / {F(Median(ok.Select(r => r.ReceiverCpu / (total / 1e9))), "F2")}",
                        $"{F(Median(ok.Select(r => r.SenderAllocPerMB)), "F0")} / {F(Median(ok.Select(r => r.ReceiverAllocPerMB)), "F0")}",
                        $"{F(Median(ok.Select(r => r.SenderSteadyAllocPerMB)), "F0")} / {F(Median(ok.Select(r => r.ReceiverSteadyAllocPerMB)), "F0")}",
                        $"{F(Median(ok.Select(r => r.SenderGen2)), "F0")} / {F(Median(ok.Select(r => r.ReceiverGen2)), "F0")}",
                        $"{F(Median(ok.Select(r => r.SenderRetransmits)), "F0")} / {F(Median(ok.Select(r => r.SenderTimeouts)), "F0")} / {F(Median(ok.Select(r => r.SenderRandomLosses)), "F0")}:{F(Median(ok.Select(r => r.SenderCongestiveLosses)), "F0")}",
                        LoadAverage());
                }
            }
        }

        table.Print();
        Console.WriteLine("msg = Messenger (BenchPeer, Release), ldc = libdatachannel (npm node-datachannel); each peer its own process; '' = not reported by that peer.");
    }

    /// <summary>
    /// Offer → open between two fresh processes, started for each round: "cold" offers the moment both are up,
    /// "warmed" first lets each Messenger process run <see cref="Transport.TransportWarmUp"/>, as the CLI does while
    /// it waits for its peer.
    /// </summary>
    private static async Task MeasureSetupAsync(string peers, int rounds)
    {
        if (rounds <= 0)
        {
            return;
        }

        string[] pairs = ["ldc>ldc", "msg>msg", "msg-warm>msg-warm", "msg>ldc", "msg-warm>ldc", "ldc>msg", "ldc>msg-warm"];
        var setups = pairs.ToDictionary(p => p, _ => new List<double>());
        var loads = new List<string>();
        for (var round = 0; round < rounds; round++)
        {
            foreach (var pair in pairs)
            {
                var (sender, receiver) = (pair.Split('>')[0], pair.Split('>')[1]);
                var result = await RunPairAsync(peers, sender, receiver, 1L << 20, 64 << 10, seed: round + 1);
                if (result.Ok)
                {
                    setups[pair].Add(result.SetupMs);
                }
            }

            loads.Add(LoadAverage());
        }

        var table = new Table("setup, two fresh processes", "offer → open ms (each round)", "min", "median", "max", "load (each round)");
        foreach (var (pair, list) in setups)
        {
            var (sender, receiver) = (pair.Split('>')[0], pair.Split('>')[1]);
            table.Add($"{Name(sender)} > {Name(receiver)}", string.Join(" ", list.Select(v => F(v, "F0"))), F(list.DefaultIfEmpty(double.NaN).Min(), "F0"), F(Median(list), "F0"), F(list.DefaultIfEmpty(double.NaN).Max(), "F0"), string.Join(" ", loads));
        }

        table.Print();
        Console.WriteLine($"1 MiB per round, {rounds} rounds; a round whose transfer failed is left out. 'warmed up' = TransportWarmUp ran in that process before the offer.");
    }

    private static async Task<PairResult> RunPairAsync(string peers, string sender, string receiver, long total, int size, Impairment? link = null, int seed = 1)
    {
        using var timeout = new CancellationTokenSource(RunLimit);
        await using var relay = link is null ? null : new ImpairedUdpRelay(null, null, link, link, seed);
        await using var send = PeerProcess.Start(sender, peers, ["send", total.ToString(CultureInfo.InvariantCulture), size.ToString(CultureInfo.InvariantCulture)]);
        await using var receive = PeerProcess.Start(receiver, peers, ["receive", total.ToString(CultureInfo.InvariantCulture)]);
        JsonObject? open = null, sent = null, received = null;
        var ready = 0;
        var error = "";
        async Task PumpAsync(PeerProcess from, PeerProcess to)
        {
            await foreach (var message in from.ReadAllAsync(timeout.Token))
            {
                switch ((string?)message["type"])
                {
                    case "ready" when Interlocked.Increment(ref ready) == 2:
                        await send.SendAsync(new JsonObject { ["type"] = "start" });
                        break;
                    case "offer" or "answer" or "candidate":
                        await to.SendAsync(relay is null ? message : ThroughRelay(message, relay, fromSender: from == send));
                        break;
                    case "open" when from == send:
                        open = message;
                        if (Environment.GetEnvironmentVariable("PROCESSES_SETUP") == "1")
                        {
                            Console.Error.WriteLine($"setup {sender}>{receiver}: {message.ToJsonString()}");
                        }

                        break;
                    case "result" when from == receive:
                        received = message;
                        await send.SendAsync(new JsonObject { ["type"] = "bye" });
                        return;
                    case "result":
                        sent = message;
                        return;
                    case "error":
                        error = (string?)message["message"] ?? "error";
                        await timeout.CancelAsync();
                        return;
                    default:
                        break;
                }
            }
        }

        try
        {
            await Task.WhenAll(PumpAsync(send, receive), PumpAsync(receive, send));
        }
        catch (OperationCanceledException)
        {
            error = error.Length > 0 ? error : "stalled";
        }

        if (received is null || sent is null || open is null)
        {
            return PairResult.Failed(error.Length > 0 ? error : "no result");
        }

        if ((string?)received["sha256"] != (string?)sent["sha256"] || (long?)received["bytes"] != total)
        {
            return PairResult.Failed("SHA-256 differs");
        }

        return new PairResult(
            true,
            "",
            total / 1e6 / (double)received["seconds"]!,
            (double?)open["setupMs"] ?? double.NaN,
            (double?)sent["cpuSeconds"] ?? double.NaN,
            (double?)received["cpuSeconds"] ?? double.NaN,
            (double?)sent["allocatedBytesPerMB"] ?? double.NaN,
            (double?)received["allocatedBytesPerMB"] ?? double.NaN,
            (double?)sent["steadyAllocatedBytesPerMB"] ?? double.NaN,
            (double?)received["steadyAllocatedBytesPerMB"] ?? double.NaN,
            (double?)sent["gen2"] ?? double.NaN,
            (double?)received["gen2"] ?? double.NaN,
            (double?)sent["retransmittedChunks"] ?? double.NaN,
            (double?)sent["retransmissionTimeouts"] ?? double.NaN,
            (double?)sent["randomLossEvents"] ?? double.NaN,
            (double?)sent["congestiveLossEvents"] ?? double.NaN);
    }

    /// <summary>One measured pairing's MB/s (NaN when it failed), for other benchmarks' ratios.</summary>
    internal static async Task<double> RawRateAsync(string peers, string sender, string receiver, long total, int size)
    {
        var result = await RunPairAsync(peers, sender, receiver, total, size);
        return result.Ok ? result.MBps : double.NaN;
    }

    private static string Name(string peer) => peer switch
    {
        "msg" => "Messenger",
        "msg-warm" => "Messenger (warmed up)",
        _ => "libdatachannel",
    };

    /// <summary>
    /// Rewrites the host candidates in a description or trickle line so the other side reaches this one through the
    /// relay (the sender is A): the real address is handed to the relay, the relay's address goes on.
    /// </summary>
    internal static JsonObject ThroughRelay(JsonObject message, ImpairedUdpRelay relay, bool fromSender)
    {
        var stand = fromSender ? relay.ForA : relay.ForB;
        string Rewrite(string text) => CandidateAddress().Replace(text, m =>
        {
            var real = new IPEndPoint(IPAddress.Parse(m.Groups["ip"].Value), int.Parse(m.Groups["port"].Value, CultureInfo.InvariantCulture));
            if (fromSender)
            {
                relay.RealA ??= real;
            }
            else
            {
                relay.RealB ??= real;
            }

            return $"{m.Groups["head"].Value}{stand.Address} {stand.Port} typ";
        });
        var copy = JsonNode.Parse(message.ToJsonString())!.AsObject();
        foreach (var field in new[] { "sdp", "candidate" })
        {
            if (copy[field] is JsonValue value && value.TryGetValue<string>(out var text))
            {
                copy[field] = Rewrite(text);
            }
        }

        return copy;
    }

    // "candidate:<foundation> <component> <transport> <priority> <ip> <port> typ …" (RFC 8839 §5.1).
    [GeneratedRegex(@"(?<head>candidate:\S+ \d+ \S+ \d+ )(?<ip>[0-9.]+) (?<port>\d+) typ", RegexOptions.IgnoreCase)]
    private static partial Regex CandidateAddress();

    private static List<string> List(string variable, string fallback) =>
        [.. (Environment.GetEnvironmentVariable(variable) ?? fallback).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Where(v => !double.IsNaN(v)).Order().ToList();
        return sorted.Count == 0 ? double.NaN : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static string F(double value, string format) => double.IsNaN(value) ? "" : value.ToString(format, CultureInfo.InvariantCulture);

    internal static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";

    private sealed record PairResult(bool Ok, string Error, double MBps, double SetupMs, double SenderCpu, double ReceiverCpu, double SenderAllocPerMB, double ReceiverAllocPerMB, double SenderSteadyAllocPerMB, double ReceiverSteadyAllocPerMB, double SenderGen2, double ReceiverGen2, double SenderRetransmits, double SenderTimeouts, double SenderRandomLosses, double SenderCongestiveLosses)
    {
        public static PairResult Failed(string error) => new(false, error, 0, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);
    }
}

/// <summary>A benchmark peer child process speaking JSON lines.</summary>
internal sealed class PeerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly SemaphoreSlim _writeGate = new(1, 1);

    private PeerProcess(Process process) => _process = process;

    /// <summary>"msg" starts this benchmark's own <see cref="BenchPeer"/>; "ldc" the node-datachannel peer.</summary>
    public static PeerProcess Start(string kind, string peers, string[] arguments)
    {
        var start = kind is "msg" or "msg-warm"
            ? new ProcessStartInfo("dotnet") { ArgumentList = { typeof(PeerProcess).Assembly.Location, "peer" } }
            : new ProcessStartInfo("node") { ArgumentList = { Path.Combine(peers, "ndc-peer.mjs") }, WorkingDirectory = peers };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.RedirectStandardInput = true;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.Environment["DOTNET_TieredPGO"] = Environment.GetEnvironmentVariable("DOTNET_TieredPGO") ?? "1";
        if (kind == "msg-warm")
        {
            start.Environment["BENCH_PEER_WARM_UP"] = "1";
        }

        var process = Process.Start(start)!;
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { Length: > 0 } line)
            {
                Console.Error.WriteLine($"[{kind} {arguments[0]}] {line}");
            }
        };
        process.BeginErrorReadLine();
        return new PeerProcess(process);
    }

    public async IAsyncEnumerable<JsonObject> ReadAllAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (await _process.StandardOutput.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.StartsWith('{'))
            {
                yield return JsonNode.Parse(line)!.AsObject();
            }
        }
    }

    public async Task SendAsync(JsonObject message)
    {
        await _writeGate.WaitAsync();
        try
        {
            await _process.StandardInput.WriteLineAsync(message.ToJsonString());
            await _process.StandardInput.FlushAsync();
        }
        catch (IOException)
        {
            // The peer already exited; its output says why.
        }
        finally
        {
            _writeGate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
