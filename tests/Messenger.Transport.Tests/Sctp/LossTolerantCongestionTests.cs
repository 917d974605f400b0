using Messenger.Transport.Sctp;
using Messenger.Transport.Tests.Simulation;
using Xunit.Abstractions;

namespace Messenger.Transport.Tests.Sctp;

/// <summary>
/// <see cref="SctpCongestionControl.Veno"/> against RFC 9260's halving, on the seeded simulated link with virtual time:
/// a random loss (no queue stands) costs a fifth of the window, a queue overflowing still costs half.
/// </summary>
public class LossTolerantCongestionTests(ITestOutputHelper output)
{
    private const int MessageCount = 256;
    private const int MessageSize = 16 * 1024;

    [Theory]
    [InlineData(720)]
    [InlineData(721)]
    [InlineData(722)]
    public void RandomLoss_50MsRtt_OnePercent_VenoJudgesTheLossesRandomAndFinishesSooner(int seed)
    {
        var link = new LinkConditions { Loss = 0.01, Delay = TimeSpan.FromMilliseconds(25) };
        var reno = Transfer(seed, link, SctpCongestionControl.Rfc9260);
        var veno = Transfer(seed, link, SctpCongestionControl.Veno);
        output.WriteLine($"RFC 9260: {reno}");
        output.WriteLine($"Veno:     {veno}");

        Assert.True(reno.RandomLosses == 0 && reno.CongestionLosses > 0, $"RFC 9260 halves on every loss event: {reno}");
        Assert.True(veno.RandomLosses > 0, $"Veno saw no loss it judged random: {veno}");
        Assert.True(veno.CongestionLosses * 4 <= veno.RandomLosses, $"Veno judged too many random losses congestive: {veno}");

        // Virtual time, so the comparison does not depend on this machine's load.
        Assert.True(veno.Duration < reno.Duration * 0.85, $"Veno took {veno.Duration}, RFC 9260 {reno.Duration}");
    }

    [Theory]
    [InlineData(730)]
    [InlineData(731)]
    public void QueueOverflow_AtABottleneck_VenoHalvesAsRfc9260AndOverflowsNoMore(int seed)
    {
        // 1 MB/s with a 30 ms router queue and no random loss: every drop is the queue overflowing, again and again.
        var link = new LinkConditions { Delay = TimeSpan.FromMilliseconds(10), Bandwidth = 1_000_000, QueueLimit = TimeSpan.FromMilliseconds(30) };
        var reno = Transfer(seed, link, SctpCongestionControl.Rfc9260);
        var veno = Transfer(seed, link, SctpCongestionControl.Veno);
        output.WriteLine($"RFC 9260: {reno}");
        output.WriteLine($"Veno:     {veno}");

        Assert.True(veno.QueueDrops > 0, $"the queue never overflowed, the test proves nothing: {veno}");
        Assert.True(veno.CongestionLosses > 0 && veno.RandomLosses <= veno.CongestionLosses / 4, $"Veno mistook overflows for random loss: {veno}");
        Assert.True(veno.QueueDrops <= (reno.QueueDrops * 3 / 2) + 10, $"Veno overflowed the queue more: {veno} vs {reno}");
    }

    private static Result Transfer(int seed, LinkConditions link, SctpCongestionControl control)
    {
        var options = new SctpAssociationOptions
        {
            RtoMin = TimeSpan.FromMilliseconds(250),
            RtoInitial = TimeSpan.FromMilliseconds(500),
            CongestionControl = control,
        };
        var net = AssociationTransferTests.Connected(seed, link, options);
        var start = net.Now;
        for (var i = 0; i < MessageCount; i++)
        {
            net.A.Association.Send(1, 53, TestMessages.Create(1, i, MessageSize), default, net.Now);
        }

        Assert.True(net.RunUntil(() => net.B.ReceivedCount == MessageCount, TimeSpan.FromMinutes(30)), net.Describe());
        Assert.Equal(Enumerable.Range(0, MessageCount), net.B.Received[1].Select(m => TestMessages.Verify(1, m)));
        var a = net.A.Association;
        return new Result(net.Now - start, a.RandomLossEvents, a.CongestionLossEvents, a.FastRetransmits, a.RetransmissionTimeouts, net.QueueDrops);
    }

    private sealed record Result(TimeSpan Duration, long RandomLosses, long CongestionLosses, long FastRetransmits, long Timeouts, long QueueDrops)
    {
        public override string ToString() =>
            $"{Duration.TotalSeconds:F2} s ({MessageCount * MessageSize / Duration.TotalSeconds / 1e6:F2} MB/s), loss events random {RandomLosses} congestive {CongestionLosses}, fast rtx {FastRetransmits}, T3 {Timeouts}, queue drops {QueueDrops}";
    }
}
