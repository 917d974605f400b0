using Messenger.Transport.Stun;

namespace Messenger.Transport.Tests.Stun;

public class DatagramDemultiplexerTests
{
    [Theory]
    [InlineData(0, DatagramKind.Stun)]
    [InlineData(3, DatagramKind.Stun)]
    [InlineData(4, DatagramKind.Unknown)]
    [InlineData(16, DatagramKind.Zrtp)]
    [InlineData(19, DatagramKind.Zrtp)]
    [InlineData(20, DatagramKind.Dtls)]
    [InlineData(22, DatagramKind.Dtls)]
    [InlineData(23, DatagramKind.Dtls)]
    [InlineData(63, DatagramKind.Dtls)]
    [InlineData(64, DatagramKind.TurnChannel)]
    [InlineData(79, DatagramKind.TurnChannel)]
    [InlineData(80, DatagramKind.Unknown)]
    [InlineData(128, DatagramKind.Rtp)]
    [InlineData(191, DatagramKind.Rtp)]
    [InlineData(192, DatagramKind.Unknown)]
    public void Classify_FirstByte_FollowsRfc7983Ranges(int firstByte, DatagramKind expected)
    {
        Assert.Equal(expected, DatagramDemultiplexer.Classify([(byte)firstByte, 0, 0, 0]));
    }

    [Fact]
    public void Classify_EmptyDatagram_IsUnknown()
    {
        Assert.Equal(DatagramKind.Unknown, DatagramDemultiplexer.Classify([]));
    }

    [Fact]
    public void Classify_Rfc5769Request_IsStun()
    {
        Assert.Equal(DatagramKind.Stun, DatagramDemultiplexer.Classify(Rfc5769Vectors.Request));
        Assert.True(StunMessage.IsStun(Rfc5769Vectors.Request));
    }
}
