using Messenger.Transport.DataChannels;
using Messenger.Transport.Sctp;
using Messenger.Transport.Sctp.Chunks;

namespace Messenger.Transport.Tests.Sctp;

/// <summary>The RTO floor: RFC 9260 for a bare association, a WebRTC-sized one for data channels.</summary>
public class RtoFloorTests
{
    [Fact]
    public void Defaults_AssociationKeepsRfcValues_DataChannelsUseWebRtcFloor()
    {
        var association = new SctpAssociationOptions();
        Assert.Equal(TimeSpan.FromSeconds(1), association.RtoMin);
        Assert.Equal(TimeSpan.FromSeconds(1), association.RtoInitial);

        var dataChannels = new DataChannelConnectionOptions().Sctp;
        Assert.Equal(SctpAssociationOptions.ForDataChannels, dataChannels);
        Assert.Equal(TimeSpan.FromMilliseconds(400), dataChannels.RtoMin);
        Assert.Equal(TimeSpan.FromMilliseconds(500), dataChannels.RtoInitial);

        // The floor must stay above a peer's delayed SACK (RFC 9260 §6.2) or single packets get retransmitted spuriously.
        Assert.True(dataChannels.RtoMin > dataChannels.DelayedAckTimeout);

        // A peer connection builds its data channels with the same floor unless told otherwise.
        Assert.Equal(SctpAssociationOptions.ForDataChannels, new PeerConnectionOptions().Sctp);
    }

    [Theory]
    [InlineData(false, 1000)]
    [InlineData(true, 400)]
    public void Send_AfterFastSack_T3RunsForTheRtoFloor(bool forDataChannels, int expectedMs)
    {
        var options = (forDataChannels ? SctpAssociationOptions.ForDataChannels : new SctpAssociationOptions()) with { RandomSeed = 3 };
        var peer = new ScriptedPeer(options);
        var (ourTag, _) = peer.Establish(0x0B0B0B0B);

        // One message acknowledged 10 ms later: SRTT 10 ms, RTTVAR 5 ms, so RTO = 30 ms before the floor.
        peer.Us.Send(1, 53, new byte[100], default, peer.Now);
        var data = Assert.IsType<DataChunk>(Assert.Single(Assert.Single(peer.Drain()).Chunks));
        peer.Now += TimeSpan.FromMilliseconds(10);
        peer.Send(ourTag, new SackChunk { CumulativeTsnAck = data.Tsn, AdvertisedReceiverWindow = 128 * 1024 });
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), peer.Us.Rto);

        peer.Us.Send(1, 53, new byte[100], default, peer.Now);
        peer.Drain();
        Assert.Equal(peer.Now + TimeSpan.FromMilliseconds(expectedMs), peer.Us.NextDeadline);
    }
}
