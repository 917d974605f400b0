using Messenger.Transport.Sctp;
using Messenger.Transport.Tests.Simulation;
using Xunit.Abstractions;

namespace Messenger.Transport.Tests.Sctp;

/// <summary>
/// <see cref="SctpAssociationOptions.QueueDelayTarget"/> on the seeded simulated link with virtual time: a bulk sender
/// in front of a deep router queue (a 10 Mbit/s uplink that buffers half a second) keeps that queue near the target
/// instead of filling it, at the same throughput, so a message behind the bulk data waits milliseconds, not the buffer.
/// </summary>
public class QueueDelayTargetTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Target = TimeSpan.FromMilliseconds(3);

    [Theory]
    [InlineData(740, 20)]
    [InlineData(741, 5)]
    public void BulkThroughADeepQueue_WithTheTarget_RttStaysNearTheBaseAndThroughputIsKept(int seed, int oneWayMilliseconds)
    {
        // 1.25 MB/s, tail drop only after 500 ms of queue: a bufferbloated uplink.
        var link = new LinkConditions { Delay = TimeSpan.FromMilliseconds(oneWayMilliseconds), Bandwidth = 1_250_000, QueueLimit = TimeSpan.FromMilliseconds(500) };
        var target = Run(seed, link, Target);
        var lossOnly = Run(seed, link, null);
        output.WriteLine($"target 3 ms: {target}");
        output.WriteLine($"loss only:   {lossOnly}");

        Assert.True(lossOnly.MaxRtt > TimeSpan.FromMilliseconds(200), $"without the target the queue never filled; the test proves nothing: {lossOnly}");
        Assert.True(target.MaxRtt < TimeSpan.FromMilliseconds((2 * oneWayMilliseconds) + 20), $"the queue grew past the target: {target}");
        Assert.True(target.Cuts > 0, $"no cut was made: {target}");
        Assert.True(target.Bytes >= lossOnly.Bytes * 0.95, $"the target cost throughput: {target} vs {lossOnly}");
        Assert.True(target.Bytes >= 1_250_000 * Measured.TotalSeconds * 0.9, $"the link was not kept busy: {target}");
    }

    [Fact]
    public void NoBottleneck_WithTheTarget_NeverCuts()
    {
        // A long path with no queue anywhere: the RTT never rises above its base, so nothing is cut.
        var link = new LinkConditions { Delay = TimeSpan.FromMilliseconds(50) };

        var result = Run(743, link, Target);

        output.WriteLine(result.ToString());
        Assert.Equal(0, result.Cuts);
    }

    private static readonly TimeSpan Warmup = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan Measured = TimeSpan.FromSeconds(8);

    private static Result Run(int seed, LinkConditions link, TimeSpan? target)
    {
        var options = SctpAssociationOptions.ForDataChannels with { QueueDelayTarget = target };
        var net = AssociationTransferTests.Connected(seed, link, options);
        net.B.KeepMessages = false;
        var payload = new byte[16 * 1024];
        var a = net.A.Association;

        // Keep a little queued at the sender, as the host's scheduler does, so the queue measured is the network's.
        net.OnStep = n =>
        {
            while (a.QueuedBytes < 64 * 1024)
            {
                a.Send(1, 53, payload, default, n.Now);
            }
        };
        net.Run(Warmup);
        var maxRtt = TimeSpan.Zero;
        var startBytes = net.B.ReceivedBytes;
        var end = net.Now + Measured;
        net.RunUntil(
            () =>
            {
                maxRtt = a.LatestRtt > maxRtt ? a.LatestRtt : maxRtt;
                return net.Now >= end;
            },
            Measured + TimeSpan.FromSeconds(1));
        return new Result(net.B.ReceivedBytes - startBytes, maxRtt, a.QueueDelayCuts, a.CongestionWindow, net.QueueDrops);
    }

    private sealed record Result(long Bytes, TimeSpan MaxRtt, long Cuts, long FinalCwnd, long QueueDrops)
    {
        public override string ToString() =>
            $"{Bytes / Measured.TotalSeconds / 1e6:F3} MB/s, max RTT {MaxRtt.TotalMilliseconds:F1} ms, cuts {Cuts}, cwnd {FinalCwnd}, queue drops {QueueDrops}";
    }
}
