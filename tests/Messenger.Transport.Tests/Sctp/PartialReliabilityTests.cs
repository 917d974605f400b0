using Messenger.Transport.Sctp;
using Messenger.Transport.Tests.Simulation;

namespace Messenger.Transport.Tests.Sctp;

public class PartialReliabilityTests
{
    private const ushort RetransmitLimited = 10;
    private const ushort LifetimeLimitedUnordered = 11;
    private const ushort Reliable = 12;

    public static TheoryData<int> Seeds()
    {
        var data = new TheoryData<int>();
        for (var seed = 200; seed < 250; seed++)
        {
            data.Add(seed);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Transfer_PartiallyReliableStreamsUnderLoss_NeverBlockAndNeverDuplicate(int seed)
    {
        var random = new Random(seed);
        var net = AssociationTransferTests.Connected(seed, new LinkConditions { Loss = 0.05 + (random.NextDouble() * 0.15), Duplication = 0.05, Reordering = 0.2 });
        const int count = 120;
        for (var i = 0; i < count; i++)
        {
            net.A.Association.Send(RetransmitLimited, 53, TestMessages.Create(RetransmitLimited, i, random.Next(1, 3000)), new SctpSendOptions(MaxRetransmits: 0), net.Now);
            net.A.Association.Send(LifetimeLimitedUnordered, 53, TestMessages.Create(LifetimeLimitedUnordered, i, random.Next(1, 3000)), new SctpSendOptions(Unordered: true, Lifetime: TimeSpan.FromMilliseconds(300)), net.Now);
            net.A.Association.Send(Reliable, 53, TestMessages.Create(Reliable, i, random.Next(1, 3000)), default, net.Now);
        }

        Assert.True(net.RunUntil(() => net.B.Received.GetValueOrDefault(Reliable)?.Count == count, TimeSpan.FromMinutes(20)), net.Describe());

        // Give abandoned data time to be skipped by FORWARD-TSN, then nothing may be left waiting anywhere.
        Assert.True(net.RunUntil(() => net.A.Association.OutstandingChunks == 0 && net.A.Association.QueuedBytes == 0 && net.B.Association.PendingReassemblyFragments == 0, TimeSpan.FromMinutes(5)), net.Describe());
        Assert.Equal(0, net.B.Association.PendingOrderedMessages);

        Assert.True(Enumerable.Range(0, count).SequenceEqual(net.B.Received[Reliable].Select(m => TestMessages.Verify(Reliable, m))), net.Describe());
        var limited = net.B.Received.GetValueOrDefault(RetransmitLimited, []).Select(m => TestMessages.Verify(RetransmitLimited, m)).ToList();
        for (var i = 1; i < limited.Count; i++)
        {
            Assert.True(limited[i] > limited[i - 1], $"ordered partially reliable stream went backwards or duplicated at {i}; {net.Describe()}");
        }

        var timed = net.B.Received.GetValueOrDefault(LifetimeLimitedUnordered, []).Select(m => TestMessages.Verify(LifetimeLimitedUnordered, m)).ToList();
        Assert.Equal(timed.Count, timed.Distinct().Count());
    }

    [Fact]
    public void Transfer_LostMessageWithZeroRetransmits_IsSkippedAndLaterOnesArrive()
    {
        var net = AssociationTransferTests.Connected(300, LinkConditions.Lossless);
        var dropped = false;

        // Drop the first DATA packet only: it holds message 0, which may not be retransmitted.
        net.DropFilter = (direction, packet) => direction == 0 && packet[12] == 0 && !dropped && (dropped = true);
        net.A.Association.Send(RetransmitLimited, 53, TestMessages.Create(RetransmitLimited, 0, 500), new SctpSendOptions(MaxRetransmits: 0), net.Now);
        net.Run(TimeSpan.FromMilliseconds(5));
        for (var i = 1; i <= 5; i++)
        {
            net.A.Association.Send(RetransmitLimited, 53, TestMessages.Create(RetransmitLimited, i, 500), new SctpSendOptions(MaxRetransmits: 0), net.Now);
        }

        Assert.True(net.RunUntil(() => net.B.ReceivedCount == 5, TimeSpan.FromSeconds(30)), net.Describe());
        Assert.Equal([1, 2, 3, 4, 5], net.B.Received[RetransmitLimited].Select(m => TestMessages.Verify(RetransmitLimited, m)));
        Assert.True(net.RunUntil(() => net.A.Association.OutstandingChunks == 0, TimeSpan.FromSeconds(30)), net.Describe());
    }

    [Fact]
    public void Transfer_ExpiredFragmentedMessage_IsDroppedWholeAndStreamContinues()
    {
        var net = AssociationTransferTests.Connected(301, LinkConditions.Lossless);
        var dataPackets = 0;

        // Lose the second fragment of a 5000-byte message with a 100 ms lifetime.
        net.DropFilter = (direction, packet) => direction == 0 && packet[12] == 0 && ++dataPackets == 2;
        net.A.Association.Send(1, 53, TestMessages.Create(1, 0, 5000), new SctpSendOptions(Lifetime: TimeSpan.FromMilliseconds(100)), net.Now);
        net.Run(TimeSpan.FromSeconds(2));
        net.A.Association.Send(1, 53, TestMessages.Create(1, 1, 5000), default, net.Now);

        Assert.True(net.RunUntil(() => net.B.ReceivedCount == 1, TimeSpan.FromSeconds(30)), net.Describe());
        Assert.Equal(1, TestMessages.Verify(1, Assert.Single(net.B.Received[1])));
        Assert.Equal(0, net.B.Association.PendingReassemblyFragments);
    }
}
