using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using Messenger.Contracts.Channels;
using Messenger.Transport;
using Messenger.Transport.DataChannels;
using Messenger.Transport.Dtls;
using Messenger.Transport.Ice;
using Messenger.Transport.Sdp;

namespace Messenger.Benchmarks;

/// <summary>
/// C#↔C# over <see cref="PeerConnection"/> on 127.0.0.1 (UDP → DTLS → SCTP → data channel), one direction, every
/// byte SHA-256 checked on the receiver; and connection setup from offer to an open data channel. Run it inside a
/// loopback-only namespace: <c>unshare -n bash -c 'ip link set lo up; dotnet run -c Release … -- transport'</c>.
/// </summary>
internal static class TransportBenchmark
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    /// <summary>Milliseconds from the offer to ICE connected, to both peers connected, to the channel open.</summary>
    private static string LastSetupBreakdown { get; set; } = "";

    public static async Task RunAsync()
    {
        // TRANSPORT_ROUNDS=n, TRANSPORT_ONLY=throughput|setup, TRANSPORT_MESSAGE=65536, TRANSPORT_TOTAL=268435456 narrow a run for
        // profiling; TRANSPORT_ALLOCATIONS=1 prints what was allocated, by type.
        var rounds = int.TryParse(Environment.GetEnvironmentVariable("TRANSPORT_ROUNDS"), CultureInfo.InvariantCulture, out var r) ? r : 3;
        var only = Environment.GetEnvironmentVariable("TRANSPORT_ONLY");
        if (only is null or "setup")
        {
            await MeasureSetupAsync(rounds);
        }

        if (only is null or "throughput")
        {
            // One unmeasured transfer first, so JIT compilation of the hot paths is not billed to the first row.
            await TransferAsync(32L << 20, 64 << 10, gso: true);
            using var sampler = Environment.GetEnvironmentVariable("TRANSPORT_ALLOCATIONS") == "1" ? new AllocationSampler() : null;
            await MeasureThroughputAsync(rounds);
            sampler?.Print();
        }
    }

    private static async Task MeasureSetupAsync(int rounds)
    {
        var table = new Table("setup", "offer → channel open ms (each round)", "min", "median", "last round: ms to ICE connected / DTLS+SCTP up / channel open");
        var cold = await ConnectAsync(certificates: null);
        await DisposeAsync(cold.A, cold.B);
        table.Add("cold (first in process, fresh certificates)", Ms(cold.Setup), Ms(cold.Setup), Ms(cold.Setup), LastSetupBreakdown);

        var shared = (DtlsCertificate.Generate(), DtlsCertificate.Generate());
        foreach (var (name, certificates) in new[] { ("warm, fresh certificates", ((DtlsCertificate, DtlsCertificate)?)null), ("warm, certificates reused (Options.Certificate)", shared) })
        {
            var times = new List<TimeSpan>();
            for (var i = 0; i < Math.Max(5, rounds * 3); i++)
            {
                var (a, b, _, _, setup) = await ConnectAsync(certificates);
                times.Add(setup);
                await DisposeAsync(a, b);
            }

            table.Add(name, string.Join(" ", times.Select(Ms)), Ms(times.Min()), Ms(times.Order().ElementAt(times.Count / 2)), LastSetupBreakdown);
        }

        table.Print();
        Console.WriteLine();
    }

    private static async Task MeasureThroughputAsync(int rounds)
    {
        var table = new Table("total", "message", "UDP GSO", "MB/s (each round)", "MB/s best", "CPU s per GB (both peers)", "alloc B/MB (process)", "datagrams per GSO send", "sender cwnd KiB at end (max)", "retransmitted chunks (max)", "gen2 GCs (max)", "load");
        var gsoModes = Environment.GetEnvironmentVariable("TRANSPORT_GSO") switch
        {
            "1" => new[] { true },
            "0" => [false],
            _ => [true, false],
        };
        foreach (var total in Sizes("TRANSPORT_TOTAL", [64L << 20, 256L << 20]))
        {
            foreach (var (messageSize, gso) in Sizes("TRANSPORT_MESSAGE", [16 << 10, 64 << 10, 256 << 10]).SelectMany(v => gsoModes.Select(g => ((int)v, g))))
            {
                var rates = new List<double>();
                var cpu = new List<double>();
                var alloc = new List<double>();
                var perSend = new List<double>();
                var cwnd = new List<long>();
                var retransmitted = new List<long>();
                var gen2 = new List<int>();
                for (var round = 0; round < rounds; round++)
                {
                    var result = await TransferAsync(total, messageSize, gso);
                    rates.Add(result.MegabytesPerSecond);
                    cpu.Add(result.CpuSecondsPerGigabyte);
                    alloc.Add(result.AllocatedBytesPerMegabyte);
                    perSend.Add(result.DatagramsPerGsoSend);
                    cwnd.Add(result.Sctp.CongestionWindow);
                    retransmitted.Add(result.Sctp.RetransmittedChunks);
                    gen2.Add(result.Gen2Collections);
                }

                table.Add(
                    $"{total >> 20} MiB",
                    $"{messageSize >> 10} KiB",
                    gso ? "on" : "off",
                    string.Join(" ", rates.Select(v => v.ToString("F0", CultureInfo.InvariantCulture))),
                    rates.Max().ToString("F0", CultureInfo.InvariantCulture),
                    $"{cpu.Min().ToString("F1", CultureInfo.InvariantCulture)}–{cpu.Max().ToString("F1", CultureInfo.InvariantCulture)}",
                    $"{alloc.Min().ToString("F0", CultureInfo.InvariantCulture)}–{alloc.Max().ToString("F0", CultureInfo.InvariantCulture)}",
                    gso ? perSend.Average().ToString("F1", CultureInfo.InvariantCulture) : "–",
                    (cwnd.Max() / 1024).ToString(CultureInfo.InvariantCulture),
                    retransmitted.Max().ToString(CultureInfo.InvariantCulture),
                    gen2.Max().ToString(CultureInfo.InvariantCulture),
                    LoadAverage());
            }
        }

        table.Print();
    }

    private static async Task<(double MegabytesPerSecond, double CpuSecondsPerGigabyte, double AllocatedBytesPerMegabyte, double DatagramsPerGsoSend, (long CongestionWindow, long RetransmittedChunks, long RetransmissionTimeouts, long RandomLossEvents, long CongestionLossEvents) Sctp, int Gen2Collections)> TransferAsync(long total, int messageSize, bool gso)
    {
        var (a, b, local, remote, _) = await ConnectAsync(certificates: null, gso);
        try
        {
            local.BufferedAmountLowThreshold = 1024 * 1024;
            var payload = new byte[messageSize];
            RandomNumberGenerator.Fill(payload);
            using var expectedHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            for (long n = 0; n < total; n += messageSize)
            {
                expectedHash.AppendData(payload);
            }

            var expected = expectedHash.GetHashAndReset();
            GC.Collect();
            var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
            var gen2Before = GC.CollectionCount(2);
            var started = Stopwatch.GetTimestamp();
            var receiving = Task.Run(async () =>
            {
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                long bytes = 0;
                using var timeout = new CancellationTokenSource(Wait);
                await foreach (var message in remote.ReceiveAllAsync(timeout.Token).ConfigureAwait(false))
                {
                    hash.AppendData(message.Data.Span);
                    bytes += message.Data.Length;
                    message.Release();
                    if (bytes >= total)
                    {
                        break;
                    }
                }

                return (bytes, hash.GetHashAndReset());
            });

            for (long sent = 0; sent < total; sent += messageSize)
            {
                if (local.BufferedAmount > 4 * 1024 * 1024)
                {
                    await local.WaitForBufferedAmountLowAsync().AsTask().WaitAsync(Wait).ConfigureAwait(false);
                }

                local.Send(payload);
            }

            var (receivedBytes, receivedHash) = await receiving.WaitAsync(Wait).ConfigureAwait(false);
            var elapsed = Stopwatch.GetElapsedTime(started);
            var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
            var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
            if (receivedBytes != total || !receivedHash.AsSpan().SequenceEqual(expected))
            {
                throw new InvalidOperationException($"Received {receivedBytes} of {total} bytes, SHA-256 {(receivedHash.AsSpan().SequenceEqual(expected) ? "equal" : "different")}.");
            }

            var megabytes = total / 1e6;
            var (datagrams, sends) = a.SegmentationCounts;
            return (megabytes / elapsed.TotalSeconds, cpu.TotalSeconds / (total / 1e9), allocated / megabytes, sends == 0 ? 0 : (double)datagrams / sends, a.SctpSenderStatistics, GC.CollectionCount(2) - gen2Before);
        }
        finally
        {
            await DisposeAsync(a, b);
        }
    }

    private static async Task<(PeerConnection A, PeerConnection B, IDataChannel Local, IDataChannel Remote, TimeSpan Setup)> ConnectAsync((DtlsCertificate, DtlsCertificate)? certificates, bool gso = true)
    {
        var a = new PeerConnection(Options(certificates?.Item1, gso));
        var b = new PeerConnection(Options(certificates?.Item2, gso));
        var started = Stopwatch.GetTimestamp();
        var iceConnected = TimeSpan.Zero;
        a.IceConnectionStateChanged += (_, state) =>
        {
            if (state is IceConnectionState.Connected or IceConnectionState.Completed && iceConnected == TimeSpan.Zero)
            {
                iceConnected = Stopwatch.GetElapsedTime(started);
            }
        };
        InProcessPair.Negotiate(a, b);
        await Task.WhenAll(a.Connected, b.Connected).WaitAsync(Wait).ConfigureAwait(false);
        var connected = Stopwatch.GetElapsedTime(started);
        using var limit = new CancellationTokenSource(Wait);
        var accepted = b.AcceptDataChannelAsync(limit.Token);
        var local = await a.OpenDataChannelAsync("bench", limit.Token).ConfigureAwait(false);

        var setup = Stopwatch.GetElapsedTime(started);
        LastSetupBreakdown = $"ICE {Ms(iceConnected)} / DTLS+SCTP {Ms(connected)} / open {Ms(setup)}";
        return (a, b, local, await accepted.ConfigureAwait(false), setup);
    }

    private static PeerConnectionOptions Options(DtlsCertificate? certificate, bool gso) => new()
    {
        Ice = new IceTransportOptions { BindAddress = IPAddress.Loopback, UdpSegmentationOffload = gso },
        Certificate = certificate,
    };

    private static async Task DisposeAsync(PeerConnection a, PeerConnection b)
    {
        await a.DisposeAsync().ConfigureAwait(false);
        await b.DisposeAsync().ConfigureAwait(false);
    }

    private static long[] Sizes(string variable, long[] defaults) =>
        Environment.GetEnvironmentVariable(variable) is { } value ? [long.Parse(value, CultureInfo.InvariantCulture)] : defaults;

    private static string Ms(TimeSpan t) => t.TotalMilliseconds.ToString("F0", CultureInfo.InvariantCulture);

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";
}
