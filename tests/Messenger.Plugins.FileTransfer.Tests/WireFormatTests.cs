using Messenger.Contracts.Framing;
using Messenger.Plugins.FileTransfer.Protocol;

namespace Messenger.Plugins.FileTransfer.Tests;

/// <summary>Golden bytes pin the wire format of every frame kind; a change here breaks peers already deployed.</summary>
public sealed class WireFormatTests
{
    private static readonly byte[] Sha = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();

    [Fact]
    public void FrameKinds_All_AreTheNumbersDecided()
    {
        Assert.Equal([100, 101, 102, 103, 104, 105, 106, 107, 108], TransferFrameKinds.All.Select(k => k.Value));
    }

    [Fact]
    public void OfferFrame_WithoutPreview_MatchesGoldenBytes()
    {
        var body = ControlFrameCodec.Write(new OfferFrame
        {
            TransferId = "t1", FileName = "file.txt", Size = 10, MediaType = "text/plain", ChunkSize = 16384, Sha256 = Sha, Caption = "hi", ChatMessageId = "m1",
        });

        Assert.Equal(
            "99" + "a27431" + "a866696c652e747874" + "0a" + "aa746578742f706c61696e" + "cd4000"
            + "c420" + Convert.ToHexStringLower(Sha) + "c0" + "a26869" + "a26d31",
            Convert.ToHexStringLower(body));
    }

    [Fact]
    public void OfferFrame_WithPreview_MatchesGoldenBytes()
    {
        var body = ControlFrameCodec.Write(new OfferFrame
        {
            TransferId = "t1", FileName = "a.png", Size = 70000, MediaType = "image/png", ChunkSize = 65536, Sha256 = Sha,
            Preview = new PreviewFrame { Thumbnail = [0xff, 0xd8], ThumbnailMediaType = "image/jpeg", Width = 16, Height = 8, SourceMediaType = "image/png", SourceWidth = 4000, SourceHeight = 2000 },
        });

        Assert.Equal(
            "99" + "a27431" + "a5612e706e67" + "ce00011170" + "a9696d6167652f706e67" + "ce00010000" + "c420" + Convert.ToHexStringLower(Sha)
            + "98" + "c402ffd8" + "aa696d6167652f6a706567" + "10" + "08" + "a9696d6167652f706e67" + "cd0fa0" + "cd07d0" + "c0"
            + "c0" + "c0",
            Convert.ToHexStringLower(body));
    }

    [Theory]
    [InlineData("accept", "94a27431cd8000c0c0")]
    [InlineData("accept-resume", "94a27431cd8000c420" + "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f" + "ce00800000")]
    [InlineData("reject", "92a27431a462757379")]
    [InlineData("ack", "93a27431ce00400000c0")]
    [InlineData("ack-credit", "93a27431ce00400000ce00500000")]
    [InlineData("end", "93a2743100c0")]
    [InlineData("end-sha", "93a2743100c420" + "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")]
    [InlineData("verified", "93a27431c3c0")]
    [InlineData("verify-failed", "93a27431c2a3626164")]
    [InlineData("cancel", "92a27431c0")]
    [InlineData("fail", "92a27431a96469736b2066756c6c")]
    public void ControlFrame_Serialize_MatchesGoldenBytes(string frame, string hex)
    {
        var body = frame switch
        {
            "accept" => ControlFrameCodec.Write(new AcceptFrame { TransferId = "t1", ResumeOffset = 32768 }),
            "accept-resume" => ControlFrameCodec.Write(new AcceptFrame { TransferId = "t1", ResumeOffset = 32768, PrefixSha256 = Sha, WindowBytes = 8 * 1024 * 1024 }),
            "reject" => ControlFrameCodec.Write(new RejectFrame { TransferId = "t1", Reason = "busy" }),
            "ack" => ControlFrameCodec.Write(new AckFrame { TransferId = "t1", VerifiedBytes = 4 * 1024 * 1024 }),
            "ack-credit" => ControlFrameCodec.Write(new AckFrame { TransferId = "t1", VerifiedBytes = 4 * 1024 * 1024, ReceivedBytes = 5 * 1024 * 1024 }),
            "end" => ControlFrameCodec.Write(new EndFrame { TransferId = "t1", BytesSent = 0 }),
            "end-sha" => ControlFrameCodec.Write(new EndFrame { TransferId = "t1", BytesSent = 0, Sha256 = Sha }),
            "verified" => ControlFrameCodec.Write(new VerifyFrame { TransferId = "t1", Verified = true }),
            "verify-failed" => ControlFrameCodec.Write(new VerifyFrame { TransferId = "t1", Verified = false, Reason = "bad" }),
            "cancel" => ControlFrameCodec.Write(new CancelFrame { TransferId = "t1" }),
            _ => ControlFrameCodec.Write(new FailFrame { TransferId = "t1", Reason = "disk full" }),
        };

        Assert.Equal(hex, Convert.ToHexStringLower(body));
    }

    [Fact]
    public void OfferFrame_Streamed_HasNilSha256()
    {
        var body = ControlFrameCodec.Write(new OfferFrame { TransferId = "t1", FileName = "f", Size = 1, MediaType = "x", ChunkSize = 1024 });

        Assert.Equal("99" + "a27431" + "a166" + "01" + "a178" + "cd0400" + "c0" + "c0" + "c0" + "c0", Convert.ToHexStringLower(body));
    }

    [Theory]
    [InlineData("92a27431cd8000")]
    [InlineData("92a2743100")]
    public void ControlFrames_FromOlderPeers_ReadWithTheNewFieldsNil(string hex)
    {
        // Bodies of the frames before the window and the streamed digest: two elements.
        var accept = ControlFrameCodec.Read<AcceptFrame>(Convert.FromHexString(hex), f => f.TransferId);
        var end = ControlFrameCodec.Read<EndFrame>(Convert.FromHexString(hex), f => f.TransferId);
        var ack = ControlFrameCodec.Read<AckFrame>(Convert.FromHexString(hex), f => f.TransferId);

        Assert.Null(accept.PrefixSha256);
        Assert.Null(accept.WindowBytes);
        Assert.Null(end.Sha256);
        Assert.Null(ack.ReceivedBytes);
    }

    [Fact]
    public void ControlFrames_New_ReadByAnOlderPeersTwoFieldShape()
    {
        // An older peer's AcceptFrame had keys 0 and 1 only; it must skip the appended ones.
        var body = ControlFrameCodec.Write(new AcceptFrame { TransferId = "t1", ResumeOffset = 32768, PrefixSha256 = Sha, WindowBytes = 1 << 23 });

        var old = ControlFrameCodec.Read<TwoFieldFrame>(body, f => f.TransferId);

        Assert.Equal(("t1", 32768L), (old.TransferId, old.Value));
    }

    [Fact]
    public void ChunkFrame_Write_MatchesGoldenBytes()
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        ChunkFrame.Write(buffer, "t1", 2, [1, 2, 3]);

        // CRC-32C of 01 02 03 is 0xF130F21E (computed independently, bit by bit).
        Assert.Equal("94" + "a27431" + "02" + "cef130f21e" + "c403010203", Convert.ToHexStringLower(buffer.WrittenSpan));
    }

    [Fact]
    public void ChunkFrame_Read_GoldenBytes_PayloadIsASliceOfTheBody()
    {
        var body = Convert.FromHexString("94a2743102cef130f21ec403010203");

        var chunk = ChunkFrame.Read(body);

        Assert.Equal("t1", chunk.TransferId);
        Assert.Equal(2, chunk.Index);
        Assert.Equal(0xF130F21Eu, chunk.Crc32C);
        Assert.Equal(new byte[] { 1, 2, 3 }, chunk.Payload.ToArray());
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(chunk.Payload, out var segment) && segment.Array == body && segment.Offset == 12);
    }

    [Theory]
    [InlineData("")]
    [InlineData("c0")]
    [InlineData("93a2743102ce00000000")]
    [InlineData("94a2743102cef130f21ec4050102")]
    [InlineData("94a2743102cef130f21ec40301020300")]
    [InlineData("94c002cef130f21ec403010203")]
    [InlineData("94dbfedbdbdbdbdbdbdbdbdb7061796c6f64")] // found by fuzzing: a str32 length over 2 GiB threw ArgumentOutOfRangeException
    public void ChunkFrame_Read_MalformedBody_ThrowsFrameFormatException(string hex)
    {
        Assert.Throws<FrameFormatException>(() => ChunkFrame.Read(Convert.FromHexString(hex)));
    }

    [Theory]
    [InlineData("c1")]
    [InlineData("92a27431")]
    [InlineData("92a0cd8000")]
    [InlineData("92a22e2ecd8000")]
    [InlineData("c0")]
    public void ControlFrameCodec_Read_MalformedOrBadId_ThrowsFrameFormatException(string hex)
    {
        Assert.Throws<FrameFormatException>(() => ControlFrameCodec.Read<AcceptFrame>(Convert.FromHexString(hex), f => f.TransferId));
    }

    [Theory]
    [InlineData("123456789", 0xE3069283u)]
    [InlineData("", 0u)]
    public void Crc32CChecksum_Compute_KnownVectors(string text, uint expected)
    {
        Assert.Equal(expected, Crc32CChecksum.Compute(System.Text.Encoding.ASCII.GetBytes(text)));
    }

    [Fact]
    public void Crc32CChecksum_Compute_UnalignedLengths_MatchesBitwiseReference()
    {
        // 40 bytes: five 8-byte steps; 0x134EF083 from an independent bit-by-bit implementation.
        Assert.Equal(0x134EF083u, Crc32CChecksum.Compute(Enumerable.Range(0, 40).Select(i => (byte)i).ToArray()));
        var data = Enumerable.Range(0, 41).Select(i => (byte)(i * 7)).ToArray();
        Assert.Equal(Bitwise(data), Crc32CChecksum.Compute(data));
    }

    private static uint Bitwise(byte[] data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var i = 0; i < 8; i++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
            }
        }

        return ~crc;
    }

    /// <summary>The shape every older two-field control frame had (id, number).</summary>
    [MessagePack.MessagePackObject]
    public sealed class TwoFieldFrame
    {
        /// <summary>The transfer id.</summary>
        [MessagePack.Key(0)]
        public string TransferId { get; set; } = "";

        /// <summary>The number.</summary>
        [MessagePack.Key(1)]
        public long Value { get; set; }
    }
}
