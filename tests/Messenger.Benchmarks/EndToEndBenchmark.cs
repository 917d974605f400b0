using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Messenger.TestSupport;

namespace Messenger.Benchmarks;

/// <summary>
/// The chat-and-files journey as users run it: a relay (<c>messenger signal</c>) and two <c>messenger connect --json
/// --auto-accept</c> processes with SQLCipher stores. Chat lines at E2E_CHAT_HZ (20) measure round trips (from
/// <c>chat-delivered</c>) with no transfer, during a file (E2E_MIB, 1024) sent the same way as the chat and the
/// other way, during 3 + 3 concurrent files (E2E_CONCURRENT_MIB, 200), during a big one (E2E_BIG_MIB, 5120) and, on
/// a second pair through an impaired link (10 Mbit/s, 40 ms round trip), during E2E_IMPAIRED_MIB (16) each way;
/// each case is timed from the first <c>/send</c> to the last <c>transfer-completed</c> (verified); peak RSS is
/// each process's VmHWM. libdatachannel's raw
/// two-process channel throughput runs in the same session for the ratio. The CLI comes from MESSENGER_CLI
/// (<c>build.sh bench</c> publishes it to artifacts/messenger); E2E_TRACE=1 also prints each case's round trips in
/// order. Run inside a loopback-only namespace.
/// </summary>
internal static class EndToEndBenchmark
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(10);

    public static async Task RunAsync()
    {
        var cli = Environment.GetEnvironmentVariable("MESSENGER_CLI") ?? Path.Combine(RepoPaths.RepoRoot, "artifacts", "messenger", "messenger.dll");
        if (!File.Exists(cli))
        {
            Console.WriteLine($"end-to-end: skipped, no CLI at {cli} (bash build.sh bench end-to-end publishes it).");
            return;
        }

        var mib = int.Parse(Environment.GetEnvironmentVariable("E2E_MIB") ?? "1024", CultureInfo.InvariantCulture);
        var hz = double.Parse(Environment.GetEnvironmentVariable("E2E_CHAT_HZ") ?? "20", CultureInfo.InvariantCulture);
        using var temp = new TempFolder();
        await using var relay = CliProcess.Start("relay", cli, temp.Path, "signal", "--bind", "127.0.0.1", "--port", "0");
        var listening = await relay.NextAsync(l => l.Contains("listening on", StringComparison.Ordinal));
        var address = listening.Split("listening on ")[1].Split(' ')[0];

        var table = new Table("case", "chat round trip ms p50", "p90", "p99", "max", "n (delivered/sent)", "/send → offered / first progress / verified s", "MB/s", "× ldc raw", "peak RSS MiB alice / bob", "load");
        var ldc = await RawLibdatachannelAsync(mib);
        string[] Connect(string name, string peer, string room, string relayAddress) => ["connect", "--room", room, "--relay", relayAddress, "--bind", "127.0.0.1", "--json", "--auto-accept", "--peer", peer,
            "--profile", Directory.CreateDirectory(Path.Combine(temp.Path, name)).FullName, "--key-file", KeyFile(temp, name)];
        var one = (long)mib << 20;
        var some = long.Parse(Environment.GetEnvironmentVariable("E2E_CONCURRENT_MIB") ?? "200", CultureInfo.InvariantCulture) << 20;
        var big = long.Parse(Environment.GetEnvironmentVariable("E2E_BIG_MIB") ?? "5120", CultureInfo.InvariantCulture) << 20;
        var impaired = long.Parse(Environment.GetEnvironmentVariable("E2E_IMPAIRED_MIB") ?? "16", CultureInfo.InvariantCulture) << 20;

        // A pair's cases; `a` reports every transfer's end, its own (the peer verified it) and the peer's (it verified it).
        async Task TransferCaseAsync(string label, CliProcess a, CliProcess b, CliProcess chatter, params (CliProcess From, long Bytes)[] files)
        {
            var paths = files.Select((f, i) => Path.Combine(temp.Path, $"file-{i}.bin")).ToArray();
            for (var i = 0; i < files.Length; i++)
            {
                WriteRandomFile(paths[i], files[i].Bytes);
            }

            var sent = Stopwatch.StartNew();
            var offered = Since(sent, files[0].From.NextEventAsync("transfer-offered"));
            var firstProgress = Since(sent, files[0].From.NextEventAsync("transfer-progress"));
            var done = a.CountEventsAsync(files.Length, "transfer-completed", "transfer-failed");
            for (var i = 0; i < files.Length; i++)
            {
                await files[i].From.SendAsync($"/send {paths[i]}");
            }

            var chat = await ChatAsync(chatter, hz, Limit, done);
            var outcomes = await done;
            var seconds = sent.Elapsed.TotalSeconds;
            var failed = outcomes.FirstOrDefault(o => (string?)o["event"] != "transfer-completed");
            var rate = files.Sum(f => f.Bytes) / 1e6 / seconds;
            var times = $"{(offered.IsCompletedSuccessfully ? F(await offered) : "")} / {(firstProgress.IsCompletedSuccessfully ? F(await firstProgress) : "")} / {(failed is null ? F(seconds) : "failed: " + ((string?)failed["reason"] ?? "?"))}";
            table.Add([label, .. chat, times, failed is null ? F(rate) : "", failed is null && ldc > 0 ? F(rate / ldc) + "×" : "", Rss(a, b), TwoProcessBenchmark.LoadAverage()]);
            foreach (var path in paths)
            {
                File.Delete(path);
            }
        }

        await using (var alice = CliProcess.Start("alice", cli, RepoPaths.RepoRoot, Connect("alice", "bob", "e2e", address)))
        await using (var bob = CliProcess.Start("bob", cli, RepoPaths.RepoRoot, Connect("bob", "alice", "e2e", address)))
        {
            await Task.WhenAll(alice.NextEventAsync("connected"), bob.NextEventAsync("connected"));
            var idle = await ChatAsync(alice, hz, TimeSpan.FromSeconds(10), Task.Delay(TimeSpan.FromSeconds(10)));
            table.Add([$"no transfer", .. idle, "", "", "", Rss(alice, bob), TwoProcessBenchmark.LoadAverage()]);
            await TransferCaseAsync($"during {mib} MiB, chat the same way (alice → bob)", alice, bob, alice, (alice, one));
            await TransferCaseAsync($"during {mib} MiB, chat the other way (bob → alice)", alice, bob, bob, (alice, one));
            await TransferCaseAsync($"during 3 + 3 concurrent {some >> 20} MiB (chat alice → bob)", alice, bob, alice, (alice, some), (alice, some), (alice, some), (bob, some), (bob, some), (bob, some));
            if (big > 0)
            {
                await TransferCaseAsync($"during {big >> 20} MiB (chat alice → bob; RSS is the whole run's peak)", alice, bob, alice, (alice, big));
            }
        }

        if (impaired > 0)
        {
            // The impaired link: every datagram crosses a relay that serialises at 10 Mbit/s behind a 256 KiB
            // tail-drop queue (a token-bucket router: 210 ms of it) and adds 20 ms each way; the peers learn only the
            // relay's addresses, through a proxy that rewrites their candidates on the way to the signaling relay.
            var link = new Impairment { Delay = TimeSpan.FromMilliseconds(20), Rate = 10_000_000 / 8, QueueLimit = 256 * 1024 };
            await using var udp = new ImpairedUdpRelay(null, null, link, link, seed: 1);
            await using var proxy = new CandidateRewritingProxy(System.Net.IPEndPoint.Parse(address), udp);
            await using var carol = CliProcess.Start("carol", cli, RepoPaths.RepoRoot, Connect("carol", "dave", "e2e-impaired", proxy.Address));
            await using var dave = CliProcess.Start("dave", cli, RepoPaths.RepoRoot, Connect("dave", "carol", "e2e-impaired", proxy.Address));
            await Task.WhenAll(carol.NextEventAsync("connected"), dave.NextEventAsync("connected"));
            const string Label = "10 Mbit/s, 40 ms RTT";
            var idle = await ChatAsync(carol, hz, TimeSpan.FromSeconds(5), Task.Delay(TimeSpan.FromSeconds(5)));
            table.Add([$"{Label}, 256 KiB queue: no transfer", .. idle, "", "", "", Rss(carol, dave), TwoProcessBenchmark.LoadAverage()]);
            await TransferCaseAsync($"{Label}: during {impaired >> 20} MiB, chat the same way", carol, dave, carol, (carol, impaired));
            await TransferCaseAsync($"{Label}: during {impaired >> 20} MiB, chat the other way", carol, dave, dave, (carol, impaired));
        }

        table.Print();
        Console.WriteLine($"Files of random bytes into SQLCipher stores, chat at {hz:0} Hz; times from the first /send (offered and first progress of the first file); ldc raw = node-datachannel, two processes, {mib} MiB in 64 KiB messages, same session: {F(ldc)} MB/s. RSS is VmHWM so far (peak since start). E2E_MIB, E2E_CONCURRENT_MIB, E2E_BIG_MIB, E2E_IMPAIRED_MIB (0 skips them) and E2E_CHAT_HZ set the sizes and rate; × ldc raw on the impaired link compares with loopback's.");
    }

    private static async Task<double> RawLibdatachannelAsync(int mib)
    {
        if (await ReferencePeers.LocateAsync() is not { } peers)
        {
            return double.NaN;
        }

        return await TwoProcessBenchmark.RawRateAsync(peers, "ldc", "ldc", (long)mib << 20, 64 << 10);
    }

    /// <summary>Sends chat lines from <paramref name="from"/> at <paramref name="hz"/> until <paramref name="until"/> ends; returns the round-trip columns.</summary>
    private static async Task<string[]> ChatAsync(CliProcess from, double hz, TimeSpan limit, Task until)
    {
        var trips = new List<double>();
        var collecting = Task.Run(async () =>
        {
            await foreach (var e in from.EventsAsync("chat-delivered"))
            {
                lock (trips)
                {
                    trips.Add((double?)e["roundTripMilliseconds"] ?? double.NaN);
                }
            }
        });
        var clock = Stopwatch.StartNew();
        using var ticks = new PeriodicTimer(TimeSpan.FromSeconds(1 / hz));
        var i = 0;
        while (!until.IsCompleted && clock.Elapsed < limit && await ticks.WaitForNextTickAsync())
        {
            await from.SendAsync($"ping {i++} {Convert.ToHexString(RandomNumberGenerator.GetBytes(8))}");
        }

        // The last lines' receipts.
        await Task.Delay(TimeSpan.FromSeconds(1));
        from.StopEvents("chat-delivered");
        await collecting;
        List<double> sorted;
        lock (trips)
        {
            if (Environment.GetEnvironmentVariable("E2E_TRACE") is { Length: > 0 })
            {
                // In the order sent: a spike at the start of a case and a steady excess read differently.
                Console.WriteLine("round trips ms, in order: " + string.Join(' ', trips.Select(t => t.ToString("0", CultureInfo.InvariantCulture))));
            }

            sorted = [.. trips.Order()];
        }

        double P(double q) => sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(q * sorted.Count) - 1)];
        return [F(P(0.5)), F(P(0.9)), F(P(0.99)), F(sorted.Count == 0 ? double.NaN : sorted[^1]), $"{sorted.Count}/{i}"];
    }

    private static async Task<double> Since(Stopwatch clock, Task<JsonObject> e)
    {
        await e;
        return clock.Elapsed.TotalSeconds;
    }

    private static string Rss(CliProcess a, CliProcess b) => $"{a.PeakRssMiB()} / {b.PeakRssMiB()}";

    private static string KeyFile(TempFolder temp, string name)
    {
        var path = Path.Combine(temp.Path, name + ".key");
        File.WriteAllText(path, Convert.ToHexString(RandomNumberGenerator.GetBytes(32)));
        return path;
    }

    private static void WriteRandomFile(string path, long size)
    {
        using var file = File.Create(path);
        var buffer = new byte[1 << 20];
        for (var left = size; left > 0; left -= buffer.Length)
        {
            RandomNumberGenerator.Fill(buffer);
            file.Write(buffer, 0, (int)Math.Min(left, buffer.Length));
        }
    }

    private static string F(double value) => double.IsNaN(value) ? "" : value.ToString(value < 10 ? "F1" : "F0", CultureInfo.InvariantCulture);

    /// <summary>One <c>messenger</c> process: stdin lines in, stdout lines (JSON events with --json) out.</summary>
    private sealed class CliProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
        private readonly Dictionary<string, Channel<JsonObject>> _watch = [];
        private readonly List<(string[] Names, TaskCompletionSource<JsonObject> Next)> _waiters = [];

        // Each returns true once it has seen enough and is to be removed.
        private readonly List<(string[] Names, Func<JsonObject, bool> See)> _counters = [];
        private readonly StringBuilder _stderr = new();
        private readonly string _name;

        private CliProcess(string name, Process process)
        {
            _name = name;
            _process = process;
            process.OutputDataReceived += (_, e) => OnLine(e.Data);
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is { } line)
                {
                    lock (_stderr)
                    {
                        _stderr.AppendLine(line);
                    }
                }
            };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public static CliProcess Start(string name, string cli, string workingDirectory, params string[] args)
        {
            var start = new ProcessStartInfo("dotnet") { WorkingDirectory = workingDirectory, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, StandardOutputEncoding = Encoding.UTF8 };
            start.ArgumentList.Add(cli);
            foreach (var arg in args)
            {
                start.ArgumentList.Add(arg);
            }

            start.Environment["NO_COLOR"] = "1";
            start.Environment.Remove("MESSENGER_STORE_PASSPHRASE");
            return new CliProcess(name, Process.Start(start)!);
        }

        public async Task SendAsync(string line)
        {
            await _process.StandardInput.WriteLineAsync(line);
            await _process.StandardInput.FlushAsync();
        }

        public async Task<string> NextAsync(Func<string, bool> predicate)
        {
            using var limit = new CancellationTokenSource(Limit);
            await foreach (var line in _lines.Reader.ReadAllAsync(limit.Token))
            {
                if (predicate(line))
                {
                    return line;
                }
            }

            throw new InvalidOperationException($"{_name} ended: {Stderr()}");
        }

        /// <summary>The next event of one of <paramref name="names"/> from now on; several may wait at once.</summary>
        public Task<JsonObject> NextEventAsync(params string[] names)
        {
            var next = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_watch)
            {
                _waiters.Add((names, next));
            }

            return next.Task.WaitAsync(Limit);
        }

        /// <summary>The next <paramref name="count"/> events of <paramref name="names"/> from now on.</summary>
        public async Task<List<JsonObject>> CountEventsAsync(int count, params string[] names)
        {
            var seen = new List<JsonObject>();
            var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_watch)
            {
                _counters.Add((names, e =>
                {
                    seen.Add(e);
                    if (seen.Count == count)
                    {
                        all.TrySetResult();
                        return true;
                    }

                    return false;
                }));
            }

            await all.Task.WaitAsync(Limit);
            return seen;
        }

        /// <summary>Every event named <paramref name="name"/> from now until <see cref="StopEvents"/>.</summary>
        public IAsyncEnumerable<JsonObject> EventsAsync(string name)
        {
            var channel = Channel.CreateUnbounded<JsonObject>();
            lock (_watch)
            {
                _watch[name] = channel;
            }

            return channel.Reader.ReadAllAsync();
        }

        public void StopEvents(string name)
        {
            lock (_watch)
            {
                if (_watch.Remove(name, out var channel))
                {
                    channel.Writer.TryComplete();
                }
            }
        }

        public string PeakRssMiB()
        {
            try
            {
                var line = File.ReadLines($"/proc/{_process.Id}/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
                return line is null ? "" : (long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024).ToString(CultureInfo.InvariantCulture);
            }
            catch (IOException)
            {
                return "";
            }
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                if (!_process.HasExited && _name == "relay")
                {
                    _process.Kill(entireProcessTree: true);
                }
                else if (!_process.HasExited)
                {
                    await SendAsync("/quit");
                    using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                    await _process.WaitForExitAsync(wait.Token);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException)
            {
                _process.Kill(entireProcessTree: true);
            }

            _process.Dispose();
        }

        private string Stderr()
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }

        private void OnLine(string? line)
        {
            if (line is null)
            {
                _lines.Writer.TryComplete();
                return;
            }

            if (line.StartsWith('{') && JsonNode.Parse(line) is JsonObject e && (string?)e["event"] is { } name)
            {
                lock (_watch)
                {
                    if (_watch.TryGetValue(name, out var channel))
                    {
                        channel.Writer.TryWrite(e);
                    }

                    foreach (var waiter in _waiters.Where(w => w.Names.Contains(name)).ToList())
                    {
                        _waiters.Remove(waiter);
                        waiter.Next.TrySetResult(e);
                    }

                    _counters.RemoveAll(c => c.Names.Contains(name) && c.See(e));
                }

                return;
            }

            _lines.Writer.TryWrite(line);
        }
    }
}
