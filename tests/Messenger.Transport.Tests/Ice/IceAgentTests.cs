using System.Net;
using Messenger.Transport.Ice;
using Messenger.Transport.Stun;

namespace Messenger.Transport.Tests.Ice;

/// <summary>The ICE agent as a pure state machine: two agents on a simulated network with a virtual clock.</summary>
public class IceAgentTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    private static bool Connected(IceAgent agent) => agent.State is IceConnectionState.Connected or IceConnectionState.Completed;

    [Fact]
    public void Connect_RegularNomination_BothSelectTheSamePairAndComplete()
    {
        var net = new IcePairNetwork(seed: 1);
        net.Signal();

        Assert.True(net.RunUntil(() => Connected(net.A) && Connected(net.B), Limit));

        Assert.Equal(IcePairNetwork.AddressB, net.A.SelectedPair!.RemoteEndPoint);
        Assert.Equal(IcePairNetwork.AddressA, net.B.SelectedPair!.RemoteEndPoint);
        Assert.True(net.A.SelectedPair.Nominated);
        Assert.True(net.B.SelectedPair.Nominated);
        Assert.Equal(IceConnectionState.Completed, net.A.State); // end-of-candidates was signalled
        Assert.True(net.Now < TimeSpan.FromMilliseconds(500), $"took {net.Now}");
    }

    [Fact]
    public void Connect_RegularNominationOnePairChecked_NominatesWithoutWaitingOutTa()
    {
        // Virtual time: with Ta at 1 s, a nomination held back by pacing could not complete before 1 s.
        var net = new IcePairNetwork(seed: 3, configure: o => o with { Ta = TimeSpan.FromSeconds(1) });
        net.Signal();

        Assert.True(net.RunUntil(() => Connected(net.A) && Connected(net.B), Limit));

        Assert.True(net.A.SelectedPair!.Nominated);
        Assert.True(net.B.SelectedPair!.Nominated);
        Assert.True(net.Now < TimeSpan.FromMilliseconds(200), $"took {net.Now} of virtual time");
    }

    [Fact]
    public void Connect_AggressiveNomination_SelectsOnFirstSuccess()
    {
        var net = new IcePairNetwork(seed: 2, configure: o => o with { AggressiveNomination = true });
        net.Signal();

        Assert.True(net.RunUntil(() => Connected(net.A) && Connected(net.B), Limit));
        Assert.True(net.A.SelectedPair!.Nominated);
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    [InlineData(13)]
    [InlineData(14)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(18)]
    public void Connect_ThirtyPercentLoss_StillConnects(int seed)
    {
        var net = new IcePairNetwork(seed) { Loss = 0.3 };
        net.Signal();

        Assert.True(net.RunUntil(() => Connected(net.A) && Connected(net.B), Limit), $"A {net.A.State}, B {net.B.State}");
    }

    [Theory]
    [InlineData(21)]
    [InlineData(22)]
    [InlineData(23)]
    [InlineData(24)]
    public void Connect_LossDuplicationReordering_ConnectsOnOnePairBothWays(int seed)
    {
        var net = new IcePairNetwork(seed) { Loss = 0.2, Duplication = 0.2, Jitter = TimeSpan.FromMilliseconds(80) };
        net.Signal();

        Assert.True(net.RunUntil(() => Connected(net.A) && Connected(net.B), Limit), $"A {net.A.State}, B {net.B.State}");
        Assert.Equal(IcePairNetwork.AddressB, net.A.SelectedPair!.RemoteEndPoint);
        Assert.Equal(IcePairNetwork.AddressA, net.B.SelectedPair!.RemoteEndPoint);
    }

    [Fact]
    public void Connect_UnsignalledPeer_IsLearntAsPeerReflexive()
    {
        var net = new IcePairNetwork(seed: 3);
        net.Signal(aLearnsB: true, bLearnsA: false); // like a browser whose candidate is an unresolvable mDNS name

        Assert.True(net.RunUntil(() => Connected(net.A) && Connected(net.B), Limit));

        Assert.Equal(IceCandidateType.PeerReflexive, net.B.SelectedPair!.Remote.Type);
        Assert.Equal(IcePairNetwork.AddressA, net.B.SelectedPair.RemoteEndPoint);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Connect_BothSameRole_RoleConflictLeavesExactlyOneControlling(bool bothControlling)
    {
        var net = new IcePairNetwork(seed: 4, aControlling: bothControlling, bControlling: bothControlling);
        net.Signal();

        Assert.True(net.RunUntil(() => Connected(net.A) && Connected(net.B), Limit));
        Assert.NotEqual(net.A.Controlling, net.B.Controlling);
    }

    [Fact]
    public void Checks_PeerNeverAnswers_FailsWithinCheckingTimeout()
    {
        var net = new IcePairNetwork(seed: 5, configure: o => o with { CheckingTimeout = TimeSpan.FromSeconds(5) }) { BSilent = true };
        net.A.SetRemoteCredentials("ufrB", "passwordB-0123456789abcdef", net.Now);
        net.A.AddRemoteCandidate(net.CandidateB, net.Now);

        Assert.True(net.RunUntil(() => net.A.State == IceConnectionState.Failed, TimeSpan.FromSeconds(6)));
        Assert.InRange(net.Now, TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(5.01));
        Assert.Contains("No candidate pair answered", net.A.FailureReason, StringComparison.Ordinal);
    }

    [Fact]
    public void Consent_PeerVanishes_DisconnectedThenFailed()
    {
        var net = new IcePairNetwork(seed: 6);
        net.Signal();
        Assert.True(net.RunUntil(() => Connected(net.A) && Connected(net.B), Limit));
        net.RunUntil(() => false, TimeSpan.FromSeconds(5)); // consent checks keep it up
        Assert.True(Connected(net.A));

        net.BSilent = true;
        var vanished = net.Now;
        Assert.True(net.RunUntil(() => net.A.State == IceConnectionState.Disconnected, Limit));
        Assert.InRange(net.Now - vanished, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(3.5));
        Assert.True(net.RunUntil(() => net.A.State == IceConnectionState.Failed, Limit));
        Assert.InRange(net.Now - vanished, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(6.5));
        Assert.Contains("Consent expired", net.A.FailureReason, StringComparison.Ordinal);
        Assert.Null(net.A.SelectedPair);
    }

    [Fact]
    public void Consent_PeerReturns_DisconnectedBackToConnected()
    {
        var net = new IcePairNetwork(seed: 7);
        net.Signal();
        Assert.True(net.RunUntil(() => Connected(net.A) && Connected(net.B), Limit));

        net.BSilent = true;
        Assert.True(net.RunUntil(() => net.A.State == IceConnectionState.Disconnected, Limit));
        net.BSilent = false;
        Assert.True(net.RunUntil(() => Connected(net.A), Limit));
    }

    [Fact]
    public void Liveness_AQuietPeerIsProbed_NeverDisconnected_AGoneOneIsDisconnectedWithinTheTimeout()
    {
        // Regular consent checks only every 20 s: what keeps a quiet pair Connected is the probe after 1.5 s of silence.
        var net = new IcePairNetwork(seed: 11, configure: o => o with { ConsentInterval = TimeSpan.FromSeconds(20), ConsentTimeout = TimeSpan.FromSeconds(60), DisconnectedTimeout = TimeSpan.FromSeconds(4), ProbeAfter = TimeSpan.FromSeconds(1.5) });
        net.Signal();
        Assert.True(net.RunUntil(() => Connected(net.A) && Connected(net.B), Limit));
        var sentBefore = net.SentByA;

        var sawDisconnected = false;
        net.RunUntil(() => { sawDisconnected |= net.A.State == IceConnectionState.Disconnected; return false; }, TimeSpan.FromSeconds(15));
        Assert.False(sawDisconnected);
        Assert.InRange(net.SentByA - sentBefore, 12, 24); // about one probe per 1.5 s plus its answers to B's probes: no flood

        net.BSilent = true;
        var vanished = net.Now;
        Assert.True(net.RunUntil(() => net.A.State == IceConnectionState.Disconnected, Limit));
        Assert.InRange(net.Now - vanished, TimeSpan.FromSeconds(2.5), TimeSpan.FromSeconds(4.01));
    }

    [Fact]
    public void Liveness_RecordsFromThePeer_KeepItConnected_AndEndADisconnectedSpell()
    {
        var net = new IcePairNetwork(seed: 12, configure: o => o with { ConsentInterval = TimeSpan.FromSeconds(20), ConsentTimeout = TimeSpan.FromSeconds(60), DisconnectedTimeout = TimeSpan.FromSeconds(4) });
        net.Signal();
        Assert.True(net.RunUntil(() => Connected(net.A) && Connected(net.B), Limit));
        net.BSilent = true; // no STUN from B any more
        Assert.True(net.RunUntil(() => net.A.State == IceConnectionState.Disconnected, Limit));

        // A DTLS record from B arrives (the core calls NoteHeard for each): alive again, at once.
        Assert.True(net.A.NoteHeard(net.Now));
        Assert.True(Connected(net.A));
        Assert.False(net.A.NoteHeard(net.Now)); // already Connected: nothing to report
    }

    [Fact]
    public void Check_Request_CarriesUsernamePriorityRoleAndIntegrity()
    {
        var net = new IcePairNetwork(seed: 8) { BSilent = true };
        net.Signal();
        net.RunUntil(() => net.SentByA > 0, Limit);

        Assert.True(StunMessage.TryParse(net.FromA[0], out var check, out _));
        Assert.Equal(StunClass.Request, check.Class);
        Assert.Equal("ufrB:ufrA", check.Username);
        Assert.Equal(net.A.TieBreaker, check.IceControlling);
        Assert.Equal(IceCandidate.ComputePriority(IceCandidateType.PeerReflexive, 65535), check.Priority);
        Assert.True(check.HasFingerprint);
        Assert.True(check.VerifyIntegrity(StunCredentials.ShortTermKey("passwordB-0123456789abcdef")));
        Assert.False(check.UseCandidate); // regular nomination: not on the first check
    }

    [Fact]
    public void Request_WrongPassword_Gets401AndNoPair()
    {
        var net = new IcePairNetwork(seed: 9);
        var request = new StunMessage(StunClass.Request, StunMethod.Binding, StunTransactionId.NewId())
            .AddUsername("ufrA:ufrB").AddPriority(1).AddIceControlled(1);
        var source = new IPEndPoint(IPAddress.Parse("192.0.2.9"), 9);

        net.A.HandleDatagram(request.Encode(StunCredentials.ShortTermKey("not-the-password-at-all"), fingerprint: true), source, net.Now);

        Assert.True(net.A.TryDequeueTransmit(out var reply));
        Assert.True(StunMessage.TryParse(reply.Datagram, out var response, out _));
        Assert.Equal(StunClass.ErrorResponse, response.Class);
        Assert.Equal(StunErrorCode.Unauthorized, response.ErrorCode!.Code);
        Assert.Empty(net.A.Pairs);
    }

    [Fact]
    public void PairPriority_FollowsRfc8445Formula()
    {
        var net = new IcePairNetwork(seed: 10);
        net.Signal();
        var pair = net.A.Pairs.Single();
        ulong g = net.CandidateA.Priority, d = net.CandidateB.Priority;

        Assert.Equal((Math.Min(g, d) << 32) + (2 * Math.Max(g, d)) + (g > d ? 1UL : 0UL), pair.Priority(controlling: true));
    }

    [Fact]
    public void AddRemoteCandidate_MdnsNameOrTcp_IsIgnored()
    {
        var net = new IcePairNetwork(seed: 19);
        net.Signal(aLearnsB: false, bLearnsA: false);

        Assert.False(net.A.AddRemoteCandidate(IceCandidate.Parse("candidate:1 1 udp 2122260223 4d1c2f7e-1b2a-4c3d-9e8f-0a1b2c3d4e5f.local 54400 typ host"), net.Now));
        Assert.False(net.A.AddRemoteCandidate(IceCandidate.Parse("candidate:2 1 tcp 1518280447 192.0.2.2 9 typ host tcptype active"), net.Now));
        Assert.Empty(net.A.Pairs);
    }

    [Fact]
    public void HandleDatagram_RandomAndMutatedBytes_NeverThrows()
    {
        var net = new IcePairNetwork(seed: 20);
        net.Signal();
        net.RunUntil(() => net.FromA.Count > 3, Limit);
        var random = new Random(7675);
        var source = new IPEndPoint(IPAddress.Parse("192.0.2.77"), 7);
        for (var i = 0; i < 5000; i++)
        {
            byte[] datagram;
            if (i % 2 == 0)
            {
                datagram = new byte[random.Next(0, 120)];
                random.NextBytes(datagram);
            }
            else
            {
                // A real check with a few flipped bytes: integrity, fingerprint and length checks must catch it.
                datagram = (byte[])net.FromA[random.Next(net.FromA.Count)].Clone();
                datagram[random.Next(datagram.Length)] ^= (byte)random.Next(1, 256);
            }

            net.B.HandleDatagram(datagram, source, net.Now);
            while (net.B.TryDequeueTransmit(out _))
            {
            }
        }

        Assert.DoesNotContain(net.B.Pairs, p => p.RemoteEndPoint.Equals(source) && p.State == IceCandidatePairState.Succeeded);
    }

    [Fact]
    public void AddRemoteCandidate_ManyCandidates_ChecklistIsCapped()
    {
        var net = new IcePairNetwork(seed: 25);
        net.Signal(aLearnsB: false, bLearnsA: false);

        for (var port = 1; port <= 300; port++)
        {
            net.A.AddRemoteCandidate(IcePairNetwork.Host(new IPEndPoint(IPAddress.Parse("192.0.2.50"), port)), net.Now);
        }

        Assert.Equal(IceAgent.MaxPairs, net.A.Pairs.Count);
    }
}
