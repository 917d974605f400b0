using Messenger.Transport.DataChannels;

namespace Messenger.Transport.Tests.DataChannels;

public class DcepMessageTests
{
    [Fact]
    public void Serialize_OpenReliableChat_MatchesRfc8832Layout()
    {
        // RFC 8832 §5.1: type 0x03, channel type, priority, reliability, label length, protocol length, label, protocol.
        var open = new DcepOpen(DataChannelType.Reliable, 256, 0, "chat", "json");
        var hex = Convert.ToHexStringLower(open.Serialize());
        Assert.Equal("03000100000000000004000463686174" + "6a736f6e", hex);
        Assert.Equal(open, DcepOpen.Parse(Convert.FromHexString(hex)));
    }

    [Fact]
    public void Parse_PartialReliableUnordered_ReadsTypeAndParameter()
    {
        var bytes = Convert.FromHexString("038100000000000300010000" + "61");
        var open = DcepOpen.Parse(bytes);
        Assert.Equal(DataChannelType.PartialReliableRexmitUnordered, open.ChannelType);
        Assert.False(open.Ordered);
        Assert.Equal(3u, open.ReliabilityParameter);
        Assert.Equal("a", open.Label);
        Assert.Equal("", open.Protocol);
    }

    [Fact]
    public void Parse_RandomAndMutatedBytes_OnlyThrowsDcepParseException()
    {
        var valid = new DcepOpen(DataChannelType.PartialReliableTimed, 512, 1000, "files", "msgpack").Serialize();
        for (var seed = 0; seed < 20_000; seed++)
        {
            var random = new Random(seed);
            byte[] bytes;
            if (random.Next(2) == 0)
            {
                bytes = new byte[random.Next(0, 40)];
                random.NextBytes(bytes);
                if (bytes.Length > 0)
                {
                    bytes[0] = 3;
                }
            }
            else
            {
                bytes = valid[..random.Next(valid.Length + 1)];
                if (bytes.Length > 0)
                {
                    bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
                }
            }

            try
            {
                DcepOpen.Parse(bytes);
            }
            catch (DcepParseException)
            {
            }
            catch (Exception ex)
            {
                Assert.Fail($"seed {seed}: {ex.GetType().Name}: {ex.Message}");
            }
        }
    }
}
