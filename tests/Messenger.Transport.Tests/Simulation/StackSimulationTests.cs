using System.Security.Cryptography;
using Messenger.Contracts.Channels;
using Messenger.Transport.DataChannels;
using Messenger.Transport.Ice;
using Messenger.Transport.Sctp;
using Xunit.Abstractions;

namespace Messenger.Transport.Tests.Simulation;

/// <summary>ICE, DTLS records, SCTP, DCEP and channels together on the seeded simulated network (virtual time).</summary>
public class StackSimulationTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(5);

    public static TheoryData<int, double, double> Links() => new()
    {
        { 1, 0.0, 0.0 },
        { 2, 0.02, 0.05 },
        { 3, 0.05, 0.10 },
        { 4, 0.02, 0.30 },
        { 5, 0.10, 0.05 },
        { 6, 0.01, 0.01 },
    };

    [Theory]
    [MemberData(nameof(Links))]
    public void Transfer_ImpairedLink_EveryMessageArrivesOnceInOrderIntact(int seed, double loss, double reordering)
    {
        var (time, datagrams, description) = Transfer(seed, loss, reordering);
        output.WriteLine($"{time.TotalSeconds:F2} s of virtual time, {datagrams} datagrams; {description}");
    }

    [Fact]
    public void Transfer_SameSeedTwice_SameTimeline()
    {
        // What makes a failing seed worth reporting: it replays, datagram for datagram.
        var first = Transfer(11, 0.05, 0.2);
        var second = Transfer(11, 0.05, 0.2);

        Assert.Equal((first.Time, first.Datagrams), (second.Time, second.Datagrams));
    }

    private static (TimeSpan Time, long Datagrams, string Description) Transfer(int seed, double loss, double reordering)
    {
        using var sim = new StackSimulation(seed, new LinkConditions { Loss = loss, Reordering = reordering, Duplication = 0.01, Delay = TimeSpan.FromMilliseconds(15) });
        var random = new Random(seed);
        var sent = Enumerable.Range(0, 120).Select(i => RandomBytes(random, 1 + random.Next(40_000))).ToList();
        var received = new List<byte[]>();
        SctpDataChannel? remote = null;
        var queued = 0;
        sim.Start();
        Assert.True(sim.RunUntil(() => sim.A.Association.State == SctpAssociationState.Established && sim.B.Association.State == SctpAssociationState.Established, Limit), sim.Describe());
        var local = sim.A.CreateChannel("sim");
        sim.OnStep = s =>
        {
            remote ??= s.B.Channels.RemoteChannels.TryRead(out var opened) ? opened : null;
            while (local.State == DataChannelState.Open && queued < sent.Count && local.BufferedAmount < 256 * 1024)
            {
                local.Send(sent[queued++]);
            }

            while (remote is not null && remote.TryReceive(out var message))
            {
                received.Add(message.Data.ToArray());
                message.Release();
            }
        };

        Assert.True(sim.RunUntil(() => received.Count == sent.Count, Limit), $"{received.Count} of {sent.Count} arrived. {sim.Describe()}");

        Assert.Equal("sim", remote!.Label);
        for (var i = 0; i < sent.Count; i++)
        {
            Assert.True(sent[i].AsSpan().SequenceEqual(received[i]), $"message {i} differs. {sim.Describe()}");
        }

        return (sim.Now, sim.DatagramsSent, $"{sent.Sum(m => m.Length):N0} bytes; {sim.Describe()}");
    }

    [Fact]
    public void CutLink_AfterTheChannelOpened_BothSidesFailIceAndCloseTheirChannels()
    {
        using var sim = new StackSimulation(7, new LinkConditions { Delay = TimeSpan.FromMilliseconds(20) }, agent => agent with
        {
            ConsentInterval = TimeSpan.FromSeconds(1),
            DisconnectedTimeout = TimeSpan.FromSeconds(3),
            ConsentTimeout = TimeSpan.FromSeconds(10),
        });
        sim.Start();
        var local = sim.A.CreateChannel("doomed");
        SctpDataChannel? remote = null;
        sim.OnStep = s => remote ??= s.B.Channels.RemoteChannels.TryRead(out var opened) ? opened : null;
        Assert.True(sim.RunUntil(() => local.State == DataChannelState.Open && remote is not null, Limit), sim.Describe());

        sim.Cut = true;
        Assert.True(sim.RunUntil(() => sim.A.IceStates.Contains(IceConnectionState.Failed) && sim.B.IceStates.Contains(IceConnectionState.Failed), Limit), sim.Describe());
        sim.RunUntil(() => local.State == DataChannelState.Closed && remote!.State == DataChannelState.Closed, TimeSpan.FromSeconds(1));

        Assert.Equal(DataChannelState.Closed, local.State);
        Assert.Equal(DataChannelState.Closed, remote!.State);
        Assert.True(sim.A.Channels.Closed.IsCompleted && sim.B.Channels.Closed.IsCompleted, sim.Describe());
        Assert.InRange(sim.Now.TotalSeconds, 10, 40); // consent, not an immediate failure and not never
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }
}
