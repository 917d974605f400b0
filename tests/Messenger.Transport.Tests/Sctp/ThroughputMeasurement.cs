using System.Diagnostics;
using Messenger.Transport.Sctp;
using Messenger.Transport.Tests.Simulation;
using Xunit.Abstractions;

namespace Messenger.Transport.Tests.Sctp;

[CollectionDefinition(nameof(ThroughputMeasurement), DisableParallelization = true)]
public sealed class ThroughputCollection;

/// <summary>
/// Prints simulated-transfer throughput per second of process CPU time. A measurement, not a timed assertion:
/// it only checks that every byte arrived. Runs alone so other tests do not share the CPU clock. For figures worth
/// quoting run it optimised: <c>dotnet test tests/Messenger.Transport.Tests -c Release --filter ThroughputMeasurement
/// --logger "console;verbosity=detailed"</c>.
/// </summary>
[Collection(nameof(ThroughputMeasurement))]
public class ThroughputMeasurement(ITestOutputHelper output)
{
    [Theory]
    [InlineData(0.0, 200, 1, 0)]
    [InlineData(0.01, 100, 1, 0)]
    [InlineData(0.01, 100, 20, 50_000_000)]
    public void Transfer_BulkOneDirection_ReportsMegabytesPerCpuSecond(double loss, int megabytes, int delayMs, long bandwidth)
    {
        // Warm up first so tiered JIT has optimised the hot paths before the clock starts.
        var link = new LinkConditions { Loss = loss, Delay = TimeSpan.FromMilliseconds(delayMs), Bandwidth = bandwidth };
        Measure(link, 16, report: false);
        Measure(link, megabytes, report: true);
    }

    private void Measure(LinkConditions link, int megabytes, bool report)
    {
        var options = new SctpAssociationOptions { RtoMin = TimeSpan.FromMilliseconds(50), RtoInitial = TimeSpan.FromMilliseconds(200) };
        var net = AssociationTransferTests.Connected(77, link, options);
        net.B.KeepMessages = false;
        const int messageSize = 64 * 1024;
        var total = (long)megabytes * 1024 * 1024 / messageSize;
        var sent = 0L;
        var payload = new byte[messageSize];

        // Keep a few MB queued, as an application awaiting the buffered-amount-low signal would.
        net.OnStep = n =>
        {
            while (sent < total && n.A.Association.QueuedBytes < 4 * 1024 * 1024)
            {
                n.A.Association.Send(1, 53, payload.ToArray(), default, n.Now);
                sent++;
            }
        };

        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        var gcBefore = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
        var cpuBefore = ThreadCpuTime();
        var wall = Stopwatch.StartNew();
        Assert.True(net.RunUntil(() => net.B.ReceivedCount == total, TimeSpan.FromHours(1)), net.Describe());
        wall.Stop();
        var cpu = ThreadCpuTime() - cpuBefore;
        var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;

        // The messages themselves are allocated twice (the sender's copy and the delivered array); the rest is overhead.
        var overheadPerPacket = (allocated - (2.0 * total * messageSize)) / net.PacketsSent;

        Assert.Equal(total * messageSize, net.B.ReceivedBytes);
        var mb = net.B.ReceivedBytes / (1024.0 * 1024.0);
        if (!report)
        {
            return;
        }

        output.WriteLine(
            $"{link}: {mb:F0} MiB in {cpu.TotalSeconds:F2} s thread CPU ({mb / cpu.TotalSeconds:F0} MiB/s CPU), " +
            $"{wall.Elapsed.TotalSeconds:F2} s wall, {net.Now.TotalSeconds:F1} s virtual, {net.PacketsSent} packets, " +
            $"{net.A.Association.RetransmittedChunks} retransmitted chunks, {net.A.Association.FastRetransmits} fast retransmits, {net.A.Association.RetransmissionTimeouts} T3, " +
            $"{overheadPerPacket:F0} bytes allocated per packet beyond the messages, GCs {GC.CollectionCount(0) - gcBefore.Item1}/{GC.CollectionCount(1) - gcBefore.Item2}/{GC.CollectionCount(2) - gcBefore.Item3}");
    }

    // The simulation runs on one thread, so its own CPU time is the honest figure; thread-pool spinning elsewhere in
    // the process would inflate the process total. Linux's schedstat gives it in nanoseconds.
    private static TimeSpan ThreadCpuTime()
    {
        const string path = "/proc/thread-self/schedstat";
        if (File.Exists(path))
        {
            var nanoseconds = long.Parse(File.ReadAllText(path).Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
            return TimeSpan.FromTicks(nanoseconds / 100);
        }

        return Process.GetCurrentProcess().TotalProcessorTime;
    }

    [Fact]
    public async Task Channel_InMemoryPairWithBackpressure_ReportsMegabytesPerSecond()
    {
        // The whole stack on real threads: channel API, event loops, associations, an in-memory link.
        await using var pair = new DataChannels.DataChannelPair();
        await pair.StartAsync();
        var local = pair.A.CreateChannel("bulk");
        var remote = await pair.B.AcceptChannelAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        await DataChannels.DataChannelPair.WaitForStateAsync(local, Contracts.Channels.DataChannelState.Open);
        const int messageSize = 64 * 1024;
        const int count = 1024;
        local.BufferedAmountLowThreshold = 1024 * 1024;
        var payload = new byte[messageSize];

        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        var receive = Task.Run(async () =>
        {
            long bytes = 0;
            var messages = 0;
            await foreach (var m in remote.ReceiveAllAsync())
            {
                bytes += m.Data.Length;
                if (++messages == count)
                {
                    break;
                }
            }

            return bytes;
        });
        for (var i = 0; i < count; i++)
        {
            if (local.BufferedAmount > 4 * 1024 * 1024)
            {
                await local.WaitForBufferedAmountLowAsync();
            }

            local.Send(payload);
        }

        var received = await receive.WaitAsync(TimeSpan.FromMinutes(2));
        wall.Stop();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        Assert.Equal((long)count * messageSize, received);
        var mb = received / (1024.0 * 1024.0);
        output.WriteLine($"channel pair: {mb:F0} MiB in {wall.Elapsed.TotalSeconds:F2} s wall ({mb / wall.Elapsed.TotalSeconds:F0} MiB/s), {cpu.TotalSeconds:F2} s CPU ({mb / cpu.TotalSeconds:F0} MiB/s CPU)");
    }
}
