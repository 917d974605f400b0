using Messenger.Transport.Sctp;
using Messenger.Transport.Sctp.Chunks;

namespace Messenger.Transport.Tests.Sctp;

public class ParserFuzzTests
{
    [Fact]
    public void Parse_RandomMutatedAndTruncatedPackets_OnlyThrowsParseError()
    {
        var seeds = new[] { PacketGoldenTests.UsrsctpInit, PacketGoldenTests.UsrsctpInitAck }.Select(Convert.FromHexString).ToList();
        seeds.Add(SamplePacket());
        for (var seed = 0; seed < 20_000; seed++)
        {
            var random = new Random(seed);
            var bytes = Mutate(seeds[random.Next(seeds.Count)], random);
            try
            {
                SctpPacket.Parse(bytes);
            }
            catch (SctpParseException)
            {
            }
            catch (Exception ex)
            {
                Assert.Fail($"seed {seed}: {ex.GetType().Name} {ex.Message}");
            }
        }
    }

    [Fact]
    public void ParseChunks_RandomBodiesWithoutChecksum_OnlyThrowsParseErrorAndRoundTripWhenAccepted()
    {
        // The checksum hides most mutations from the chunk parsers, so also drive them directly.
        var random = new Random(12345);
        var accepted = 0;
        for (var i = 0; i < 50_000; i++)
        {
            var body = new byte[random.Next(0, 80)];
            random.NextBytes(body);
            if (body.Length >= 4)
            {
                body[0] = (byte)new[] { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 14, 130, 192, random.Next(256) }[random.Next(16)];
                var length = random.Next(0, body.Length + 8);
                body[2] = (byte)(length >> 8);
                body[3] = (byte)length;
            }

            try
            {
                var reader = new ChunkReader(body);
                while (reader.TryRead(out var type, out var flags, out var value))
                {
                    var chunk = Chunk.Parse(type, flags, value);
                    var written = new byte[chunk.PaddedLength];
                    chunk.WriteTo(written);
                    Assert.True(chunk.PaddedLength <= Padding.Align4(4 + value.Length), $"iteration {i}");
                    accepted++;
                }
            }
            catch (SctpParseException)
            {
            }
            catch (Exception ex) when (ex is not Xunit.Sdk.XunitException)
            {
                Assert.Fail($"iteration {i}: {ex.GetType().Name} {ex.Message} on {Convert.ToHexString(body)}");
            }
        }

        Assert.True(accepted > 1000, $"only {accepted} chunks were accepted; the generator is too hostile to be useful");
    }

    private static byte[] Mutate(byte[] original, Random random)
    {
        var bytes = original.ToArray();
        switch (random.Next(4))
        {
            case 0:
                bytes = bytes[..random.Next(bytes.Length + 1)];
                break;
            case 1:
                for (var k = random.Next(1, 6); k > 0; k--)
                {
                    bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
                }

                break;
            case 2:
                bytes = new byte[random.Next(0, 200)];
                random.NextBytes(bytes);
                break;
            default:
                bytes[random.Next(12, bytes.Length)] ^= (byte)(1 << random.Next(8));
                break;
        }

        // Re-stamp the checksum half the time so mutations reach the chunk parsers.
        if (bytes.Length >= 12 && random.Next(2) == 0)
        {
            Crc32C.StampPacket(bytes);
        }

        return bytes;
    }

    private static byte[] SamplePacket() => new SctpPacket
    {
        SourcePort = 5000,
        DestinationPort = 5000,
        VerificationTag = 0xdeadbeef,
        Chunks =
        {
            new SackChunk { CumulativeTsnAck = 10, AdvertisedReceiverWindow = 1000, GapBlocks = { (2, 4) }, DuplicateTsns = { 9 } },
            new DataChunk { DataFlags = 3, Tsn = 11, StreamId = 2, StreamSequenceNumber = 1, PayloadProtocolId = 51, Payload = new byte[] { 1, 2, 3 } },
            new ForwardTsnChunk { NewCumulativeTsn = 12, Streams = { (2, 3) } },
            new ReConfigChunk([new OutgoingResetRequest(1, 0, 11, [2]).ToParameter()]),
        },
    }.Serialize();
}
