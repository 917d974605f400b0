using Messenger.Transport.Sctp;
using Messenger.Transport.Tests.Simulation;

namespace Messenger.Transport.Tests.Sctp;

public class CongestionAndWindowTests
{
    [Theory]
    [InlineData(700, 0.0)]
    [InlineData(701, 0.1)]
    [InlineData(702, 0.2)]
    public void Send_SmallPeerWindow_FlightNeverExceedsItAndEverythingArrives(int seed, double loss)
    {
        // B advertises 8 KiB; loss makes it hold out-of-order data, so the window really shrinks.
        var options = new SctpAssociationOptions { ReceiveWindow = 8 * 1024, RtoMin = TimeSpan.FromMilliseconds(250), RtoInitial = TimeSpan.FromMilliseconds(500) };
        var net = AssociationTransferTests.Connected(seed, new LinkConditions { Loss = loss, Reordering = 0.2 }, options);
        var worstFlight = 0L;
        net.AfterSend = n => worstFlight = Math.Max(worstFlight, n.A.Association.FlightSize);
        for (var i = 0; i < 100; i++)
        {
            net.A.Association.Send(1, 53, TestMessages.Create(1, i, 1000 + (i * 37)), default, net.Now);
        }

        Assert.True(net.RunUntil(() => net.B.ReceivedCount == 100, TimeSpan.FromMinutes(30)), net.Describe());
        Assert.Equal(Enumerable.Range(0, 100), net.B.Received[1].Select(m => TestMessages.Verify(1, m)));

        // RFC 9260 §6.1 A: never more than the peer's window in flight, save one chunk probing a zero window.
        Assert.InRange(worstFlight, 1, (8 * 1024) + 1200);
    }

    [Fact]
    public void Transfer_Lossless_SlowStartGrowsWindowByOneMtuOrHalfOfWhatEachSackAcknowledges()
    {
        var net = AssociationTransferTests.Connected(703, LinkConditions.Lossless);
        var initial = net.A.Association.CongestionWindow;
        long cwndBefore = 0, flightBefore = 0;
        var violations = new List<string>();
        var steps = 0;
        net.BeforeDelivery = (n, toA) =>
        {
            cwndBefore = n.A.Association.CongestionWindow;
            flightBefore = n.A.Association.FlightSize;
        };
        net.AfterDelivery = (n, toA) =>
        {
            // Each packet to A carries one SACK; lossless, the flight shrinks by exactly what it acknowledges.
            var step = n.A.Association.CongestionWindow - cwndBefore;
            var acked = flightBefore - n.A.Association.FlightSize;
            if (!toA || step <= 0)
            {
                return;
            }

            steps++;
            // One MTU at most for a SACK of up to two MTUs, else half of what it acknowledges (never more than that).
            if (step > (acked <= 2400 ? Math.Min(acked, 1200) : acked / 2))
            {
                violations.Add($"cwnd +{step} for a SACK of {acked} bytes");
            }
        };
        for (var i = 0; i < 100; i++)
        {
            net.A.Association.Send(1, 53, TestMessages.Create(1, i, 10_000), default, net.Now);
        }

        Assert.True(net.RunUntil(() => net.B.ReceivedCount == 100, TimeSpan.FromMinutes(1)), net.Describe());

        // RFC 9260 §7.2.1: initial cwnd min(4*MTU, max(2*MTU, 4380)) = 4380 at MTU 1200; growth is capped per SACK.
        Assert.Equal(4380, initial);
        Assert.True(net.A.Association.CongestionWindow > 20 * 1200, $"cwnd {net.A.Association.CongestionWindow}");
        Assert.True(steps > 5, $"{steps} increases");
        Assert.Empty(violations);
    }

    [Fact]
    public void InitialCongestionWindowMtus_SetsTheFirstWindowWhereTheRfcGives4380Bytes()
    {
        (long Cwnd, long Flight) FirstFlight(SctpAssociationOptions options)
        {
            var net = AssociationTransferTests.Connected(705, LinkConditions.Lossless, options);
            var cwnd = net.A.Association.CongestionWindow;
            net.A.Association.Send(1, 53, TestMessages.Create(1, 0, 64 * 1024), default, net.Now);
            return (cwnd, net.A.Association.FlightSize);
        }

        var rfc = FirstFlight(new SctpAssociationOptions());
        var ten = FirstFlight(new SctpAssociationOptions { InitialCongestionWindowMtus = 10 });
        Assert.Equal(4380, rfc.Cwnd);
        Assert.Equal(10 * 1200, ten.Cwnd);

        // Before any SACK no more than the window (plus the one MTU of overshoot RFC 9260 §6.1 B allows) leaves.
        Assert.InRange(rfc.Flight, 0, 4380 + 1200);
        Assert.InRange(ten.Flight, 0, (10 * 1200) + 1200);
        Assert.Equal(10, SctpAssociationOptions.ForDataChannels.InitialCongestionWindowMtus);
    }

    [Fact]
    public void RetransmissionTimeout_CollapsesWindowToOneMtuAndDoublesRto()
    {
        var net = AssociationTransferTests.Connected(704, LinkConditions.Lossless);
        for (var i = 0; i < 20; i++)
        {
            net.A.Association.Send(1, 53, TestMessages.Create(1, i, 5000), default, net.Now);
        }

        Assert.True(net.RunUntil(() => net.B.ReceivedCount == 20, TimeSpan.FromMinutes(1)));
        var rtoBefore = net.A.Association.Rto;
        net.B.Silent = true;
        net.A.Association.Send(1, 53, TestMessages.Create(1, 20, 5000), default, net.Now);
        Assert.True(net.RunUntil(() => net.A.Association.RetransmissionTimeouts == 1, TimeSpan.FromMinutes(1)), net.Describe());

        // RFC 9260 §7.2.3: cwnd = 1 MTU after T3; §6.3.3 E2: RTO doubles.
        Assert.Equal(1200, net.A.Association.CongestionWindow);
        Assert.Equal(rtoBefore * 2, net.A.Association.Rto);
    }

    [Fact]
    public void Receive_ApplicationStopsReading_WindowClosesThenReopens()
    {
        var options = new SctpAssociationOptions { ReceiveWindow = 64 * 1024, MaxReceiveMessageSize = 16 * 1024, RtoMin = TimeSpan.FromMilliseconds(250), RtoInitial = TimeSpan.FromMilliseconds(500) };
        var net = AssociationTransferTests.Connected(705, LinkConditions.Lossless, options);
        net.B.ConsumeAtOnce = false;
        for (var i = 0; i < 256; i++)
        {
            net.A.Association.Send(1, 53, TestMessages.Create(1, i, 4096), default, net.Now);
        }

        net.Run(TimeSpan.FromSeconds(30));

        // Unread messages count against the window: B holds at most the window plus one probe's worth.
        Assert.InRange(net.B.Association.UnconsumedBytes, 60 * 1024, (64 + 16) * 1024);
        Assert.True(net.A.Association.QueuedBytes > 512 * 1024, $"sender queue {net.A.Association.QueuedBytes}");

        // The application catches up: a window update lets the rest flow.
        net.B.Association.MarkConsumed(net.B.Association.UnconsumedBytes);
        net.B.ConsumeAtOnce = true;
        Assert.True(net.RunUntil(() => net.B.ReceivedCount == 256, TimeSpan.FromMinutes(5)), net.Describe());
        Assert.Equal(Enumerable.Range(0, 256), net.B.Received[1].Select(m => TestMessages.Verify(1, m)));
    }

    [Fact]
    public void FastRecovery_TheSackThatEndsIt_AddsAtMostOneMtu()
    {
        // One DATA packet lost deep into slow start: cwnd halves, stays put through the recovery, and the SACK that
        // ends it — which acknowledges about a window at once — must not grow it by half of that (cwnd = ssthresh:
        // one MTU at most, RFC 9260 §7.2.1), or the reduction is undone.
        var net = AssociationTransferTests.Connected(705, LinkConditions.Lossless with { Delay = TimeSpan.FromMilliseconds(25) });
        var dataPackets = 0;
        net.DropFilter = (direction, packet) => direction == 0 && packet[12] == 0 && ++dataPackets == 150;
        long cwndBefore = 0, reduced = 0, firstStep = 0;
        net.BeforeDelivery = (n, _) => cwndBefore = n.A.Association.CongestionWindow;
        net.AfterDelivery = (n, toA) =>
        {
            var cwnd = n.A.Association.CongestionWindow;
            if (!toA)
            {
                return;
            }

            if (reduced == 0 && n.A.Association.CongestionLossEvents == 1)
            {
                reduced = cwnd;
            }
            else if (reduced > 0 && firstStep == 0 && cwnd > cwndBefore)
            {
                firstStep = cwnd - cwndBefore;
            }
        };
        for (var i = 0; i < 200; i++)
        {
            net.A.Association.Send(1, 53, TestMessages.Create(1, i, 10_000), default, net.Now);
        }

        Assert.True(net.RunUntil(() => net.B.ReceivedCount == 200, TimeSpan.FromMinutes(1)), net.Describe());
        Assert.Equal(1, net.A.Association.CongestionLossEvents);
        Assert.True(reduced > 10 * 1200, $"the loss came too early to prove anything: cwnd {reduced}");
        Assert.InRange(firstStep, 1, 1200);
    }
}
