using Messenger.Transport.Sctp;
using Messenger.Transport.Tests.Simulation;

namespace Messenger.Transport.Tests.Sctp;

public class AssociationHandshakeTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    [Fact]
    public void Connect_Lossless_BothSidesEstablished()
    {
        var net = new SimulatedNetwork(1, LinkConditions.Lossless);
        net.A.Association.Connect(net.Now);

        Assert.True(net.RunUntil(() => net.A.Connected && net.B.Connected, Limit));
        Assert.Equal(SctpAssociationState.Established, net.A.Association.State);
        Assert.Equal(SctpAssociationState.Established, net.B.Association.State);

        // Four packets: INIT, INIT-ACK, COOKIE-ECHO, COOKIE-ACK.
        Assert.Equal(4, net.PacketsSent);
    }

    [Fact]
    public void Connect_InitCollision_BothSidesEstablishedOnce()
    {
        // RFC 9260 §5.2.1: both sides send INIT at the same moment.
        for (var seed = 0; seed < 30; seed++)
        {
            var net = new SimulatedNetwork(seed, LinkConditions.Lossless with { Reordering = 0.5 });
            net.A.Association.Connect(net.Now);
            net.B.Association.Connect(net.Now);

            Assert.True(net.RunUntil(() => net.A.Connected && net.B.Connected, Limit), net.Describe());
            net.Run(TimeSpan.FromSeconds(5));
            Assert.Equal(1, net.A.Events.Count(e => e.Kind == SctpEventKind.Connected));
            Assert.Equal(1, net.B.Events.Count(e => e.Kind == SctpEventKind.Connected));
            AssertCanExchange(net, net.Describe());
        }
    }

    [Fact]
    public void Connect_InitCollisionWithLoss_ConvergesAndCarriesData()
    {
        for (var seed = 100; seed < 140; seed++)
        {
            var net = new SimulatedNetwork(seed, new LinkConditions { Loss = 0.2, Duplication = 0.1, Reordering = 0.3 });
            net.A.Association.Connect(net.Now);
            net.B.Association.Connect(net.Now);

            Assert.True(net.RunUntil(() => net.A.Connected && net.B.Connected, Limit), net.Describe());
            AssertCanExchange(net, net.Describe());
        }
    }

    [Fact]
    public void Connect_LossyLink_RetransmitsInitAndCookie()
    {
        for (var seed = 0; seed < 40; seed++)
        {
            var net = new SimulatedNetwork(seed, new LinkConditions { Loss = 0.3, Duplication = 0.2, Reordering = 0.3 });
            net.A.Association.Connect(net.Now);
            Assert.True(net.RunUntil(() => net.A.Connected && net.B.Connected, TimeSpan.FromMinutes(10)), net.Describe());
        }
    }

    [Fact]
    public void Connect_PeerNeverAnswers_AbortsAfterMaxInitRetransmits()
    {
        var net = new SimulatedNetwork(3, LinkConditions.Lossless);
        net.B.Silent = true;
        net.A.Association.Connect(net.Now);

        Assert.True(net.RunUntil(() => net.A.Closed, TimeSpan.FromMinutes(30)));
        var aborted = Assert.Single(net.A.Events, e => e.Kind == SctpEventKind.Aborted);
        Assert.Contains("handshake", aborted.Reason, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(SctpAssociationState.Closed, net.A.Association.State);
    }

    [Fact]
    public void HandlePacket_WrongVerificationTag_IsDropped()
    {
        var net = new SimulatedNetwork(4, LinkConditions.Lossless);
        net.A.Association.Connect(net.Now);
        Assert.True(net.RunUntil(() => net.A.Connected && net.B.Connected, Limit));

        // A SACK-less DATA packet with a made-up tag must not be accepted.
        var forged = new SctpPacket
        {
            SourcePort = 5000,
            DestinationPort = 5000,
            VerificationTag = 0x12345678,
            Chunks = { new Messenger.Transport.Sctp.Chunks.DataChunk { DataFlags = 3, Tsn = 1, Payload = new byte[] { 1 } } },
        }.Serialize();
        var before = net.B.Association.DroppedPackets;
        net.B.Association.HandlePacket(forged, net.Now);
        Assert.Equal(before + 1, net.B.Association.DroppedPackets);
    }

    [Fact]
    public void HandlePacket_ForgedCookie_DoesNotEstablish()
    {
        var b = new SctpAssociation(new SctpAssociationOptions { RandomSeed = 9 });
        var cookie = new byte[StateCookie.Length];
        cookie[0] = StateCookie.Version;
        var packet = new SctpPacket
        {
            SourcePort = 5000,
            DestinationPort = 5000,
            VerificationTag = 0,
            Chunks = { new Messenger.Transport.Sctp.Chunks.CookieEchoChunk(cookie) },
        }.Serialize();
        b.HandlePacket(packet, TimeSpan.Zero);
        Assert.Equal(SctpAssociationState.Closed, b.State);
        Assert.False(b.TryPollEvent(out _));
    }

    [Fact]
    public void HandlePacket_StaleCookie_IsRejectedWithError()
    {
        // The cookie sits in the network longer than its lifetime before reaching B.
        var options = new SctpAssociationOptions { CookieLifetime = TimeSpan.FromSeconds(1), RtoInitial = TimeSpan.FromSeconds(3), RtoMin = TimeSpan.FromSeconds(3) };
        var net = new SimulatedNetwork(5, LinkConditions.Lossless with { Delay = TimeSpan.FromMilliseconds(700) }, options);
        net.A.Association.Connect(net.Now);
        net.RunUntil(() => net.A.Events.Exists(e => e.Kind == SctpEventKind.ErrorReceived), TimeSpan.FromSeconds(3));

        Assert.Contains(net.A.Events, e => e.Kind == SctpEventKind.ErrorReceived && e.Reason!.Contains("cause 3", StringComparison.Ordinal));
        Assert.False(net.B.Connected);
    }

    [Fact]
    public void Connect_PeerRestarts_SurvivorReportsRestartAndBothExchangeData()
    {
        var net = new SimulatedNetwork(6, LinkConditions.Lossless);
        net.A.Association.Connect(net.Now);
        Assert.True(net.RunUntil(() => net.A.Connected && net.B.Connected, Limit));
        net.B.Association.Send(2, 53, TestMessages.Create(2, 0, 500), default, net.Now);
        Assert.True(net.RunUntil(() => net.A.ReceivedCount == 1, Limit));

        // RFC 9260 §5.2.2/§5.2.4 case A: a new INIT reaches an established peer, which restarts its side.
        net.RestartA(1000);
        net.A.Association.Connect(net.Now);
        Assert.True(net.RunUntil(() => net.A.Connected && net.B.Events.Exists(e => e.Kind == SctpEventKind.Restarted), Limit), net.Describe());
        Assert.Equal(SctpAssociationState.Established, net.B.Association.State);
        AssertCanExchange(net, net.Describe());
    }

    internal static void AssertCanExchange(SimulatedNetwork net, string context)
    {
        net.A.Association.Send(1, 53, TestMessages.Create(1, 0, 3000), default, net.Now);
        net.B.Association.Send(2, 53, TestMessages.Create(2, 0, 3000), default, net.Now);
        Assert.True(net.RunUntil(() => net.B.Received.ContainsKey(1) && net.A.Received.ContainsKey(2), Limit), context);
        Assert.Equal(0, TestMessages.Verify(1, Assert.Single(net.B.Received[1])));
        Assert.Equal(0, TestMessages.Verify(2, Assert.Single(net.A.Received[2])));
    }
}
