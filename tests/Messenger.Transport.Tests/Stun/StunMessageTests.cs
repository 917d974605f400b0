using System.Net;
using Messenger.Transport.Stun;

namespace Messenger.Transport.Tests.Stun;

public class StunMessageTests
{
    private static StunMessage Parse(byte[] bytes)
    {
        Assert.True(StunMessage.TryParse(bytes, out var message, out var error), $"parse failed: {error}");
        return message;
    }

    [Fact]
    public void Parse_Rfc5769SampleRequest_ReadsAttributesAndVerifiesShortTermIntegrity()
    {
        var message = Parse(Rfc5769Vectors.Request);

        Assert.Equal(StunClass.Request, message.Class);
        Assert.Equal(StunMethod.Binding, message.Method);
        Assert.Equal("b7e7a701bc34d686fa87dfae", message.TransactionId.ToString());
        Assert.Equal("STUN test client", message.Software);
        Assert.Equal("evtj:h6vY", message.Username);
        Assert.Equal(0x6e0001ffu, message.Priority);
        Assert.Equal(0x932ff9b151263b36ul, message.IceControlled);
        Assert.Null(message.IceControlling);
        Assert.False(message.UseCandidate);
        Assert.True(message.HasFingerprint);
        Assert.True(message.HasMessageIntegrity);
        Assert.True(message.VerifyIntegrity(StunCredentials.ShortTermKey(Rfc5769Vectors.ShortTermPassword)));
        Assert.False(message.VerifyIntegrity(StunCredentials.ShortTermKey("VOkJxbRl1RmTxUk/WvJxBu")));
    }

    [Fact]
    public void Parse_Rfc5769Ipv4Response_DecodesXorMappedAddress()
    {
        var message = Parse(Rfc5769Vectors.Ipv4Response);

        Assert.Equal(StunClass.SuccessResponse, message.Class);
        Assert.Equal("test vector", message.Software);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 32853), message.XorMappedAddress);
        Assert.True(message.HasFingerprint);
        Assert.True(message.VerifyIntegrity(StunCredentials.ShortTermKey(Rfc5769Vectors.ShortTermPassword)));
    }

    [Fact]
    public void Parse_Rfc5769Ipv6Response_DecodesXorMappedAddress()
    {
        var message = Parse(Rfc5769Vectors.Ipv6Response);

        Assert.Equal(new IPEndPoint(IPAddress.Parse("2001:db8:1234:5678:11:2233:4455:6677"), 32853), message.XorMappedAddress);
        Assert.True(message.VerifyIntegrity(StunCredentials.ShortTermKey(Rfc5769Vectors.ShortTermPassword)));
    }

    [Fact]
    public void Encode_Rfc5769ResponseAttributes_ReproducesXorMappedAddressBytes()
    {
        foreach (var vector in new[] { Rfc5769Vectors.Ipv4Response, Rfc5769Vectors.Ipv6Response })
        {
            var parsed = Parse(vector);
            var rebuilt = new StunMessage(StunClass.SuccessResponse, StunMethod.Binding, parsed.TransactionId).AddXorMappedAddress(parsed.XorMappedAddress!);
            Assert.True(parsed.TryGet(StunAttributeType.XorMappedAddress, out var expected));
            Assert.True(rebuilt.TryGet(StunAttributeType.XorMappedAddress, out var actual));
            Assert.Equal(expected.ToArray(), actual.ToArray());
        }
    }

    [Fact]
    public void Parse_Rfc5769LongTermRequest_VerifiesIntegrityAndReencodesByteForByte()
    {
        var message = Parse(Rfc5769Vectors.LongTermRequest);

        Assert.Equal("マトリックス", message.Username);
        Assert.Equal("f//499k954d6OL34oL9FSTvy64sA", message.Nonce);
        Assert.Equal("example.org", message.Realm);
        Assert.False(message.HasFingerprint);
        var key = StunCredentials.LongTermKey("マトリックス", "example.org", "TheMatrIX");
        Assert.Equal(key, StunCredentials.LongTermKey("マトリックス", "example.org", "TheMªtrⅨ"));
        Assert.True(message.VerifyIntegrity(key));
        Assert.False(message.VerifyIntegrity(StunCredentials.LongTermKey("マトリックス", "example.org", "thematrix")));

        var rebuilt = new StunMessage(StunClass.Request, StunMethod.Binding, message.TransactionId)
            .AddUsername("マトリックス").AddNonce("f//499k954d6OL34oL9FSTvy64sA").AddRealm("example.org");
        Assert.Equal(Convert.ToHexString(Rfc5769Vectors.LongTermRequest), Convert.ToHexString(rebuilt.Encode(key)));
    }

    [Fact]
    public void Encode_IceBindingRequest_RoundTripsEveryAttributeWithIntegrityAndFingerprint()
    {
        var key = StunCredentials.ShortTermKey("remote-ice-pwd-0123456789");
        var request = new StunMessage(StunClass.Request, StunMethod.Binding, StunTransactionId.NewId())
            .AddUsername("rfrag:lfrag")
            .AddPriority(0x6e7f1eff)
            .AddIceControlling(0x0102030405060708)
            .AddUseCandidate()
            .AddMappedAddress(new IPEndPoint(IPAddress.Parse("10.0.0.1"), 5000))
            .AddXorMappedAddress(new IPEndPoint(IPAddress.Parse("fe80::1:2"), 65535));
        var bytes = request.Encode(key, fingerprint: true);

        Assert.Equal(0, bytes.Length % 4);
        var parsed = Parse(bytes);
        Assert.Equal(request.TransactionId, parsed.TransactionId);
        Assert.Equal("rfrag:lfrag", parsed.Username);
        Assert.Equal(0x6e7f1effu, parsed.Priority);
        Assert.Equal(0x0102030405060708ul, parsed.IceControlling);
        Assert.True(parsed.UseCandidate);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("10.0.0.1"), 5000), parsed.MappedAddress);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("fe80::1:2"), 65535), parsed.XorMappedAddress);
        Assert.True(parsed.HasFingerprint);
        Assert.True(parsed.VerifyIntegrity(key));
        Assert.False(parsed.VerifyIntegrity(StunCredentials.ShortTermKey("another-password")));
    }

    [Fact]
    public void Encode_ErrorResponse_RoundTripsErrorCodeAndUnknownAttributes()
    {
        var response = new StunMessage(StunClass.ErrorResponse, StunMethod.Binding, StunTransactionId.NewId())
            .AddErrorCode(StunErrorCode.UnknownAttribute, "Unknown Attribute")
            .AddUnknownAttributes([0x0031, 0x7001]);

        var parsed = Parse(response.Encode(fingerprint: true));

        Assert.Equal(0x0111, System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(response.Encode()));
        Assert.Equal(new StunErrorCode(420, "Unknown Attribute"), parsed.ErrorCode);
        Assert.Equal(new ushort[] { 0x0031, 0x7001 }, parsed.UnknownAttributes);
        Assert.Equal(StunClass.ErrorResponse, parsed.Class);
    }

    [Theory]
    [InlineData(StunClass.Request, 0x0001)]
    [InlineData(StunClass.Indication, 0x0011)]
    [InlineData(StunClass.SuccessResponse, 0x0101)]
    [InlineData(StunClass.ErrorResponse, 0x0111)]
    public void Encode_BindingClass_WritesRfc8489MessageType(StunClass messageClass, int expectedType)
    {
        var bytes = new StunMessage(messageClass, StunMethod.Binding, StunTransactionId.NewId()).Encode();

        Assert.Equal(expectedType, (bytes[0] << 8) | bytes[1]);
        Assert.True(StunMessage.TryParse(bytes, out var parsed, out _));
        Assert.Equal(messageClass, parsed.Class);
        Assert.Equal(StunMethod.Binding, parsed.Method);
    }

    [Fact]
    public void Parse_UnknownComprehensionRequiredAttribute_IsReportedForA420()
    {
        var bytes = new StunMessage(StunClass.Request, StunMethod.Binding, StunTransactionId.NewId())
            .Add(0x0031, [1, 2, 3]).Add(0xC001, [9]).Encode(fingerprint: true);

        var parsed = Parse(bytes);

        Assert.Equal(new ushort[] { 0x0031 }, parsed.UnknownRequiredAttributes);
        Assert.True(parsed.TryGet(0xC001, out var optional));
        Assert.Equal(new byte[] { 9 }, optional.ToArray());
    }

    [Fact]
    public void Parse_FlippedBitUnderFingerprint_FailsWithFingerprintMismatch()
    {
        var bytes = (byte[])Rfc5769Vectors.Request.Clone();
        bytes[30] ^= 0x01;

        Assert.False(StunMessage.TryParse(bytes, out _, out var error));
        Assert.Equal(StunParseError.FingerprintMismatch, error);
    }

    [Fact]
    public void VerifyIntegrity_TamperedAttributeWithoutFingerprint_Fails()
    {
        var bytes = (byte[])Rfc5769Vectors.LongTermRequest.Clone();
        bytes[^30] ^= 0x01; // inside REALM
        var message = Parse(bytes);

        Assert.False(message.VerifyIntegrity(StunCredentials.LongTermKey("マトリックス", "example.org", "TheMatrIX")));
    }

    [Fact]
    public void Parse_AttributesAfterMessageIntegrity_AreIgnored()
    {
        var key = StunCredentials.ShortTermKey("pwd");
        var signed = new StunMessage(StunClass.Request, StunMethod.Binding, StunTransactionId.NewId()).AddUsername("a:b").Encode(key);
        var extended = signed.Concat(new byte[] { 0x00, 0x24, 0x00, 0x04, 1, 2, 3, 4 }).ToArray();
        extended[3] += 8;

        var parsed = Parse(extended);

        Assert.Null(parsed.Priority);
        Assert.True(parsed.VerifyIntegrity(key));
    }

    private const string TransactionIdZeros = "000000000000000000000000";

    public static TheoryData<string, StunParseError> MalformedInputs => new()
    {
        { "", StunParseError.TooShort },
        { "0001000021", StunParseError.TooShort },
        { "c0010000" + "2112a442" + TransactionIdZeros, StunParseError.NotStun },
        { "00010000" + "2112a443" + TransactionIdZeros, StunParseError.BadMagicCookie },
        { "00010002" + "2112a442" + TransactionIdZeros + "0000", StunParseError.BadLength },
        { "00010004" + "2112a442" + TransactionIdZeros, StunParseError.BadLength },
        { "00010004" + "2112a442" + TransactionIdZeros + "00060004", StunParseError.TruncatedAttribute },
        { "00010008" + "2112a442" + TransactionIdZeros + "00060008aabbccdd", StunParseError.TruncatedAttribute },
        { "0001000c" + "2112a442" + TransactionIdZeros + "002000070001000000000000", StunParseError.MalformedAttribute },
        { "00010004" + "2112a442" + TransactionIdZeros + "00240000", StunParseError.MalformedAttribute },
        { "00010008" + "2112a442" + TransactionIdZeros + "000900040000020a", StunParseError.MalformedAttribute },
        { "0001000c" + "2112a442" + TransactionIdZeros + "802800040000000000250000", StunParseError.FingerprintNotLast },
    };

    [Theory]
    [MemberData(nameof(MalformedInputs))]
    public void TryParse_MalformedInput_ReturnsTypedError(string hex, StunParseError expected)
    {
        Assert.False(StunMessage.TryParse(Convert.FromHexString(hex), out var message, out var error));
        Assert.Null(message);
        Assert.Equal(expected, error);
    }

    [Fact]
    public void TryParse_RandomTruncatedAndMutatedInput_NeverThrows()
    {
        var random = new Random(5769);
        byte[][] seeds = [Rfc5769Vectors.Request, Rfc5769Vectors.Ipv4Response, Rfc5769Vectors.Ipv6Response, Rfc5769Vectors.LongTermRequest];
        var parsedCount = 0;
        for (var i = 0; i < 20_000; i++)
        {
            var seed = seeds[i % seeds.Length];
            byte[] input;
            switch (i % 4)
            {
                case 0:
                    input = new byte[random.Next(0, 120)];
                    random.NextBytes(input);
                    break;
                case 1:
                    input = seed[..random.Next(0, seed.Length)];
                    break;
                case 2:
                    input = (byte[])seed.Clone();
                    input[random.Next(input.Length)] ^= (byte)(1 << random.Next(8));
                    break;
                default:
                    // A valid header followed by random attribute soup, so the TLV walk is exercised.
                    var body = new byte[4 * random.Next(0, 30)];
                    random.NextBytes(body);
                    input = [0, 1, (byte)(body.Length >> 8), (byte)body.Length, 0x21, 0x12, 0xa4, 0x42, .. new byte[12], .. body];
                    break;
            }

            if (StunMessage.TryParse(input, out var message, out _))
            {
                parsedCount++;
                _ = (message.Username, message.XorMappedAddress, message.MappedAddress, message.ErrorCode, message.UnknownAttributes, message.Priority);
                message.VerifyIntegrity([1, 2, 3]);
            }
        }

        Assert.True(parsedCount > 0);
    }
}
