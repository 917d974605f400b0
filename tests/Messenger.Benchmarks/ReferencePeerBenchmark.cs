using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Messenger.Benchmarks;

/// <summary>
/// libdatachannel (npm node-datachannel, usrsctp inside) sender → receiver on 127.0.0.1, the reference for the transport
/// table; <c>peers/ndc-throughput.mjs</c> does the transfer and checks SHA-256. Installs with <c>npm ci</c> when missing.
/// Run it in the same loopback-only namespace as <c>transport</c>.
/// </summary>
internal static class ReferencePeerBenchmark
{
    private static readonly TimeSpan RunLimit = TimeSpan.FromSeconds(30);

    public static async Task RunAsync()
    {
        if (await ReferencePeers.LocateAsync() is not { } peers)
        {
            return;
        }

        var table = new Table("total", "message", "MB/s (each round)", "MB/s best", "setup ms (each round)", "load");
        foreach (var total in new[] { 16L << 20, 32L << 20, 64L << 20 })
        {
            foreach (var size in new[] { 16 << 10, 64 << 10, 256 << 10 })
            {
                var rates = new List<string>();
                var setups = new List<string>();
                for (var round = 0; round < 3; round++)
                {
                    var (code, output) = await RunAsync("node", ["ndc-throughput.mjs", total.ToString(CultureInfo.InvariantCulture), size.ToString(CultureInfo.InvariantCulture)], peers, RunLimit);
                    var line = output.Split('\n').FirstOrDefault(l => l.StartsWith('{'));
                    if (code != 0 || line is null)
                    {
                        rates.Add(code == -1 ? "stalled" : $"exit {code}");
                        continue;
                    }

                    using var json = JsonDocument.Parse(line);
                    var root = json.RootElement;
                    rates.Add(root.GetProperty("sha256Equal").GetBoolean() ? root.GetProperty("mbps").GetDouble().ToString("F0", CultureInfo.InvariantCulture) : "SHA-256 differs");
                    setups.Add(root.GetProperty("setupMs").GetDouble().ToString("F0", CultureInfo.InvariantCulture));
                }

                var numbers = rates.Select(r => double.TryParse(r, CultureInfo.InvariantCulture, out var v) ? v : 0).ToList();
                table.Add($"{total >> 20} MiB", $"{size >> 10} KiB", string.Join(" ", rates), numbers.Max().ToString("F0", CultureInfo.InvariantCulture), string.Join(" ", setups),
                    File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?");
            }
        }

        table.Print();
    }

    /// <summary>Runs a process to completion or <paramref name="limit"/>; exit code -1 means it was killed at the limit.</summary>
    internal static async Task<(int ExitCode, string Output)> RunAsync(string file, string[] arguments, string directory, TimeSpan limit)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            return (-1, await stdout + await stderr);
        }

        return (process.ExitCode, await stdout + await stderr);
    }
}

/// <summary>The node-datachannel reference peers in <c>peers/</c>, installed with <c>npm ci</c> when missing.</summary>
internal static class ReferencePeers
{
    /// <summary>The peers folder with node-datachannel installed, or null (after saying why).</summary>
    public static async Task<string?> LocateAsync()
    {
        // The scripts stay in the source tree (bin/Release/net10.0 sits below the project folder that holds peers/);
        // a published copy elsewhere names the folder in BENCHMARK_PEERS.
        if (Environment.GetEnvironmentVariable("BENCHMARK_PEERS") is { Length: > 0 } named)
        {
            return Directory.Exists(Path.Combine(named, "node_modules", "node-datachannel")) ? named : null;
        }

        var project = new DirectoryInfo(AppContext.BaseDirectory);
        while (project is not null && !File.Exists(Path.Combine(project.FullName, "peers", "package.json")))
        {
            project = project.Parent;
        }

        if (project is null)
        {
            Console.WriteLine("peers/package.json not found above the benchmark's output folder.");
            return null;
        }

        var peers = Path.Combine(project.FullName, "peers");
        if (!File.Exists(Path.Combine(peers, "node_modules", "node-datachannel", "package.json")))
        {
            var (code, output) = await ReferencePeerBenchmark.RunAsync("npm", ["ci", "--prefer-offline", "--no-audit", "--no-fund"], peers, TimeSpan.FromMinutes(5));
            if (code != 0)
            {
                // Inside `unshare -n` there is no registry: install once outside the namespace.
                Console.WriteLine($"node-datachannel could not be installed (npm ci exit {code}); run `npm ci` in {peers} outside the loopback-only namespace first.");
                Console.WriteLine(output.Trim());
                return null;
            }
        }

        return peers;
    }
}
