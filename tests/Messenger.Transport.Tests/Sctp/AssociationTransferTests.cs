using Messenger.Transport.Sctp;
using Messenger.Transport.Tests.Simulation;

namespace Messenger.Transport.Tests.Sctp;

public class AssociationTransferTests
{
    private static readonly ushort[] OrderedStreams = [1, 2, 3];
    private const ushort UnorderedStream = 4;
    private const ushort ReverseStream = 5;

    internal static SimulatedNetwork Connected(int seed, LinkConditions conditions, SctpAssociationOptions? options = null)
    {
        var net = new SimulatedNetwork(seed, conditions, options);
        net.A.Association.Connect(net.Now);
        Assert.True(net.RunUntil(() => net.A.Connected && net.B.Connected, TimeSpan.FromMinutes(10)), net.Describe());
        return net;
    }

    public static TheoryData<int> Seeds()
    {
        var data = new TheoryData<int>();
        for (var seed = 1; seed <= 60; seed++)
        {
            data.Add(seed);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Transfer_LossyDuplicatingReorderingLink_EveryMessageOnceIntactAndOrdered(int seed)
    {
        var random = new Random(seed);
        var conditions = new LinkConditions
        {
            Loss = random.NextDouble() * 0.2,
            Duplication = random.NextDouble() * 0.1,
            Reordering = random.NextDouble() * 0.3,
            Bandwidth = random.Next(2) == 0 ? 0 : 2_000_000,
        };
        var net = Connected(seed, conditions);
        var sent = new Dictionary<ushort, int>();
        foreach (var stream in OrderedStreams.Append(UnorderedStream))
        {
            sent[stream] = 0;
        }

        for (var i = 0; i < 160; i++)
        {
            var stream = (ushort)random.Next(1, 5);
            var size = random.Next(10) switch
            {
                < 6 => random.Next(1, 1500),
                < 9 => random.Next(1500, 20_000),
                _ => random.Next(20_000, 70_000),
            };
            net.A.Association.Send(stream, 53, TestMessages.Create(stream, sent[stream]++, size), new SctpSendOptions(Unordered: stream == UnorderedStream), net.Now);
        }

        for (var i = 0; i < 30; i++)
        {
            net.B.Association.Send(ReverseStream, 51, TestMessages.Create(ReverseStream, i, random.Next(1, 4000)), default, net.Now);
        }

        var total = sent.Values.Sum();
        Assert.True(net.RunUntil(() => net.B.ReceivedCount >= total && net.A.ReceivedCount >= 30, TimeSpan.FromMinutes(30)), net.Describe());

        foreach (var stream in OrderedStreams)
        {
            var indices = net.B.Received.GetValueOrDefault(stream, []).Select(m => TestMessages.Verify(stream, m)).ToList();
            Assert.True(Enumerable.Range(0, sent[stream]).SequenceEqual(indices), $"stream {stream} out of order or incomplete; {net.Describe()}");
        }

        var unordered = net.B.Received.GetValueOrDefault(UnorderedStream, []).Select(m => TestMessages.Verify(UnorderedStream, m)).Order().ToList();
        Assert.True(Enumerable.Range(0, sent[UnorderedStream]).SequenceEqual(unordered), $"unordered stream lost or duplicated; {net.Describe()}");
        var reverse = net.A.Received[ReverseStream].Select(m => TestMessages.Verify(ReverseStream, m)).ToList();
        Assert.True(Enumerable.Range(0, 30).SequenceEqual(reverse), $"reverse stream; {net.Describe()}");

        // Once the last SACKs land, nothing may linger on either side.
        Assert.True(net.RunUntil(() => net.A.Association.OutstandingChunks == 0 && net.B.Association.OutstandingChunks == 0, TimeSpan.FromMinutes(5)), net.Describe());
        Assert.Equal(0, net.B.Association.PendingReassemblyFragments);
        Assert.Equal(0, net.B.Association.PendingOrderedMessages);
        Assert.Equal(0, net.A.Association.QueuedBytes);
        Assert.Equal(0, net.A.Association.FlightSize);
        Assert.Equal(SctpAssociationState.Established, net.A.Association.State);
    }

    [Fact]
    public void Transfer_BandwidthLimitedLink_FillsThePipe()
    {
        // 1 MB/s bottleneck, 40 ms RTT: 4 MB must take at least 4 s and, with slow start done early, not much more.
        var net = Connected(11, new LinkConditions { Bandwidth = 1_000_000, Delay = TimeSpan.FromMilliseconds(20) });
        var start = net.Now;
        for (var i = 0; i < 64; i++)
        {
            net.A.Association.Send(1, 53, TestMessages.Create(1, i, 65536), default, net.Now);
        }

        Assert.True(net.RunUntil(() => net.B.ReceivedCount == 64, TimeSpan.FromMinutes(1)), net.Describe());
        var elapsed = (net.Now - start).TotalSeconds;
        Assert.InRange(elapsed, 64 * 65536 / 1_000_000.0, 6.0);
    }

    [Fact]
    public void Transfer_SingleLoss_RecoversByFastRetransmitWithoutTimeout()
    {
        var net = Connected(12, LinkConditions.Lossless with { Delay = TimeSpan.FromMilliseconds(10) });
        var dataPackets = 0;
        net.DropFilter = (direction, packet) => direction == 0 && packet[12] == 0 && ++dataPackets == 10;
        for (var i = 0; i < 200; i++)
        {
            net.A.Association.Send(1, 53, TestMessages.Create(1, i, 1000), default, net.Now);
        }

        Assert.True(net.RunUntil(() => net.B.ReceivedCount == 200, TimeSpan.FromMinutes(1)), net.Describe());
        Assert.True(net.A.Association.FastRetransmits >= 1, "the lost chunk should have been fast-retransmitted");
        Assert.Equal(0, net.A.Association.RetransmissionTimeouts);
        Assert.True(Enumerable.Range(0, 200).SequenceEqual(net.B.Received[1].Select(m => TestMessages.Verify(1, m))));
    }

    [Fact]
    public void Transfer_PeerVanishes_AbortsAfterMaxRetransmissions()
    {
        var net = Connected(13, LinkConditions.Lossless);
        net.B.Silent = true;
        net.A.Association.Send(1, 53, TestMessages.Create(1, 0, 100), default, net.Now);

        Assert.True(net.RunUntil(() => net.A.Closed, TimeSpan.FromHours(1)), net.Describe());
        Assert.Contains(net.A.Events, e => e.Kind == SctpEventKind.Aborted);
        // RFC 9260 §8.1: more than Association.Max.Retrans (10) consecutive failures: T3 expiries plus unanswered heartbeats.
        Assert.InRange(net.A.Association.RetransmissionTimeouts, 6, 11);
    }

    [Fact]
    public void Send_MessageOfOneByte_Arrives()
    {
        var net = Connected(14, LinkConditions.Lossless);
        net.A.Association.Send(9, 57, [0], default, net.Now);
        Assert.True(net.RunUntil(() => net.B.ReceivedCount == 1, TimeSpan.FromSeconds(5)), net.Describe());
        Assert.Equal(new byte[] { 0 }, Assert.Single(net.B.Received[9]));
        Assert.Equal([57u], net.B.ReceivedPpids);
    }

    [Theory]
    [InlineData(800, 0.0)]
    [InlineData(801, 0.2)]
    [InlineData(802, 0.15)]
    public void Transfer_TsnsCrossTheWrap_EverythingArrivesInOrder(int seed, double loss)
    {
        // RFC 9260 §1.6: TSNs are serial numbers; start 100 below 2^32 so acks, gaps and FORWARD-TSN all cross zero.
        var options = new SctpAssociationOptions { InitialTsn = uint.MaxValue - 100, RtoMin = TimeSpan.FromMilliseconds(250), RtoInitial = TimeSpan.FromMilliseconds(500) };
        var net = Connected(seed, new LinkConditions { Loss = loss, Duplication = 0.05, Reordering = 0.3 }, options);
        for (var i = 0; i < 150; i++)
        {
            net.A.Association.Send(1, 53, TestMessages.Create(1, i, 1500), default, net.Now);
            net.A.Association.Send(2, 53, TestMessages.Create(2, i, 700), new SctpSendOptions(Unordered: true, MaxRetransmits: 0), net.Now);
        }

        Assert.True(net.RunUntil(() => net.B.Received.TryGetValue(1, out var got) && got.Count == 150, TimeSpan.FromMinutes(20)), net.Describe());
        Assert.Equal(Enumerable.Range(0, 150), net.B.Received[1].Select(m => TestMessages.Verify(1, m)));
        Assert.True(net.RunUntil(() => net.A.Association.OutstandingChunks == 0 && net.B.Association.PendingReassemblyFragments == 0, TimeSpan.FromMinutes(5)), net.Describe());
        Assert.True(net.B.Association.ExpectedTsn < 1000, $"TSNs did not wrap: next expected {net.B.Association.ExpectedTsn}");
    }

    [Fact]
    public void Transfer_MoreThan65536MessagesOnOneStream_SsnWrapsAndOrderHolds()
    {
        var net = Connected(803, LinkConditions.Lossless with { Reordering = 0.2 });
        net.B.KeepMessages = false;
        var next = 0;
        var outOfOrder = 0;
        const int count = 70_000;
        var expected = 0;
        net.OnStep = n =>
        {
            while (next < count && n.A.Association.QueuedBytes < 64 * 1024)
            {
                n.A.Association.Send(1, 53, TestMessages.Create(1, next++, 8), default, n.Now);
            }
        };
        net.B.OnMessage = data =>
        {
            if (TestMessages.Verify(1, data) != expected++)
            {
                outOfOrder++;
            }
        };

        Assert.True(net.RunUntil(() => net.B.ReceivedCount == count, TimeSpan.FromMinutes(10)), net.Describe());
        Assert.Equal(0, outOfOrder);
    }

    [Fact]
    public void Idle_HealthyPeer_HeartbeatsKeepItUp()
    {
        var net = Connected(804, LinkConditions.Lossless);
        var before = net.PacketsSent;
        net.Run(TimeSpan.FromMinutes(5));

        // RFC 9260 §8.3: each side probes the idle path about every 30 s and gets answers (some ride together):
        // a handful of packets a minute, not a flood and not silence.
        Assert.InRange(net.PacketsSent - before, 10, 60);
        Assert.Equal(SctpAssociationState.Established, net.A.Association.State);
        Assert.Equal(SctpAssociationState.Established, net.B.Association.State);
    }

    [Fact]
    public void Idle_PeerVanishes_HeartbeatsDetectItAndAbort()
    {
        var net = Connected(805, LinkConditions.Lossless);
        net.B.Silent = true;

        Assert.True(net.RunUntil(() => net.A.Closed, TimeSpan.FromHours(2)), net.Describe());
        var aborted = Assert.Single(net.A.Events, e => e.Kind == SctpEventKind.Aborted);
        Assert.Contains("heartbeat", aborted.Reason, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(0, net.A.Association.RetransmissionTimeouts);
    }
}
