using MessagePack;
using Messenger.Contracts.Framing;
using Messenger.Host.Chat;
using Messenger.Host.Framing;

namespace Messenger.Host.Tests;

public class FrameCodecTests
{
    private const int Max = 256 * 1024;

    [Theory]
    [InlineData(0, "9200")]
    [InlineData(1, "9201")]
    [InlineData(127, "927f")]
    [InlineData(128, "92cc80")]
    [InlineData(255, "92ccff")]
    [InlineData(256, "92cd0100")]
    [InlineData(65535, "92cdffff")]
    [InlineData(65536, "92ce00010000")]
    public void WriteHeader_Kind_UsesShortestMessagePackInteger(int kind, string expectedHex)
    {
        var buffer = new byte[FrameCodec.MaxHeaderSize];
        var written = FrameCodec.WriteHeader(new FrameKind(kind), buffer);
        Assert.Equal(expectedHex, Convert.ToHexStringLower(buffer.AsSpan(0, written)));
        Assert.Equal(written, FrameCodec.HeaderSize(new FrameKind(kind)));
    }

    [Fact]
    public void Encode_ChatMessage_MatchesGoldenBytes()
    {
        var body = MessagePackSerializer.Serialize(new ChatMessageFrame { Id = "m1", SentAtUnixMilliseconds = 1_700_000_000_000, Text = "hi" });
        var frame = FrameCodec.Encode(HostFrameKinds.ChatMessage, body);

        // [1, ["m1", uint64 1700000000000, "hi", nil]]
        Assert.Equal("9201" + "94" + "a26d31" + "cf0000018bcfe56800" + "a26869" + "c0", Convert.ToHexStringLower(frame));
    }

    [Fact]
    public void Encode_ChatMessageWithAttachment_MatchesGoldenBytes()
    {
        var body = MessagePackSerializer.Serialize(new ChatMessageFrame { Id = "a", SentAtUnixMilliseconds = 5, Text = "", AttachmentTransferId = "t" });
        Assert.Equal("9201" + "94a161" + "05" + "a0" + "a174", Convert.ToHexStringLower(FrameCodec.Encode(HostFrameKinds.ChatMessage, body)));
    }

    [Fact]
    public void Encode_ChatAck_MatchesGoldenBytes()
    {
        var body = MessagePackSerializer.Serialize(new ChatAckFrame { Id = "m1" });
        Assert.Equal("9202" + "91a26d31", Convert.ToHexStringLower(FrameCodec.Encode(HostFrameKinds.ChatAck, body)));
    }

    [Fact]
    public void TryDecode_WellFormedFrame_GivesKindAndBody()
    {
        var frame = Convert.FromHexString("92cd0100" + "92a161c3");
        Assert.True(FrameCodec.TryDecode(frame, Max, out var kind, out var body, out var error), error);
        Assert.Equal(256, kind.Value);
        Assert.Equal("92a161c3", Convert.ToHexStringLower(body.Span));
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("c0", "array")]
    [InlineData("93 01 c0 c0", "2-element")]
    [InlineData("91 01", "2-element")]
    [InlineData("92 a1 61 c0", "integer")]
    [InlineData("92 ff c0", "out of range")]
    [InlineData("92 cf 00 00 00 01 00 00 00 00 c0", "out of range")]
    [InlineData("92 01", "truncated")]
    [InlineData("92 01 91", "ends")]
    [InlineData("92 01 a5 61", "malformed body")]
    [InlineData("92 01 c0 c0", "follow")]
    [InlineData("92 01 dd ff ff ff ff", "malformed body")]
    [InlineData("92 01 c1", "not a MessagePack type")]
    [InlineData("92 cd 01", "truncated")]
    public void TryDecode_MalformedFrame_FailsWithReason(string hex, string reasonFragment)
    {
        var bytes = Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));
        Assert.False(FrameCodec.TryDecode(bytes, Max, out _, out _, out var error));
        Assert.Contains(reasonFragment, error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryDecode_OversizedFrame_FailsBeforeParsing()
    {
        var frame = FrameCodec.Encode(new FrameKind(1), MessagePackSerializer.Serialize(new byte[1000]));
        Assert.False(FrameCodec.TryDecode(frame, 500, out _, out _, out var error));
        Assert.Contains("over the 500-byte limit", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryDecode_DeeplyNestedBody_FailsWithoutRecursion()
    {
        var frame = new byte[2 + 200_000 + 1];
        frame[0] = 0x92;
        frame[1] = 0x01;
        frame.AsSpan(2, 200_000).Fill(0x91);
        frame[^1] = 0xc0;
        Assert.False(FrameCodec.TryDecode(frame, frame.Length, out _, out _, out var error));
        Assert.Contains("deeper", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryDecode_RandomAndMutatedBytes_NeverThrows()
    {
        var random = new Random(20261123);
        var valid = FrameCodec.Encode(HostFrameKinds.ChatMessage, MessagePackSerializer.Serialize(new ChatMessageFrame { Id = "x", Text = "hello", SentAtUnixMilliseconds = 1 }));
        for (var i = 0; i < 20_000; i++)
        {
            byte[] input;
            if (i % 2 == 0)
            {
                input = new byte[random.Next(0, 64)];
                random.NextBytes(input);
            }
            else
            {
                input = valid[..random.Next(0, valid.Length + 1)];
                if (input.Length > 0)
                {
                    input[random.Next(input.Length)] = (byte)random.Next(256);
                }
            }

            var ok = FrameCodec.TryDecode(input, Max, out _, out var body, out var error);
            Assert.True(ok || error is not null, $"iteration {i}: no reason given");
            if (ok)
            {
                Assert.True(body.Length > 0, $"iteration {i}: empty body accepted");
            }
        }
    }
}
