using Messenger.Transport.Dtls;
using Messenger.Transport.Ice;
using Messenger.Transport.Sdp;

namespace Messenger.Transport.Tests.Sdp;

/// <summary>SDP golden texts written in the shape Chromium and aiortc produce, two captured from Chromium 156, plus our own round trip.</summary>
public class SessionDescriptionTests
{
    private const string Fp = "sha-256 6B:8B:5D:EA:59:04:20:D2:09:69:5C:18:2C:5E:8B:4E:8F:3C:0E:53:A7:1B:60:F2:3D:1D:2A:50:6E:31:C4:91";

    // Chromium (M120-style) data-channel-only offer with mDNS-hidden host and a srflx candidate.
    private const string ChromiumOffer =
        "v=0\r\n" +
        "o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n" +
        "s=-\r\n" +
        "t=0 0\r\n" +
        "a=group:BUNDLE 0\r\n" +
        "a=extmap-allow-mixed\r\n" +
        "a=msid-semantic: WMS\r\n" +
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n" +
        "c=IN IP4 0.0.0.0\r\n" +
        "a=candidate:3885250869 1 udp 2122260223 1f3e5a0c-8d4b-4a8e-9c61-2b7f0d9e4c11.local 54400 typ host generation 0 network-id 1\r\n" +
        "a=candidate:842163049 1 udp 1686052607 203.0.113.7 54400 typ srflx raddr 0.0.0.0 rport 0 generation 0 network-id 1\r\n" +
        "a=ice-ufrag:Xk4/\r\n" +
        "a=ice-pwd:g7P1lQ2pV5jz0X3hYc4T9bRw\r\n" +
        "a=ice-options:trickle\r\n" +
        "a=fingerprint:" + Fp + "\r\n" +
        "a=setup:actpass\r\n" +
        "a=mid:0\r\n" +
        "a=sctp-port:5000\r\n" +
        "a=max-message-size:262144\r\n";

    // Chromium's answer: no a=max-message-size (so 64 KiB), setup active.
    private const string ChromiumAnswer =
        "v=0\r\n" +
        "o=- 8231495720947502117 2 IN IP4 127.0.0.1\r\n" +
        "s=-\r\n" +
        "t=0 0\r\n" +
        "a=group:BUNDLE 0\r\n" +
        "a=msid-semantic: WMS\r\n" +
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n" +
        "c=IN IP4 0.0.0.0\r\n" +
        "a=ice-ufrag:dE+9\r\n" +
        "a=ice-pwd:0Hc1vXq8Lr2mN4sT6uW8yZaB\r\n" +
        "a=ice-options:trickle\r\n" +
        "a=fingerprint:" + Fp + "\r\n" +
        "a=setup:active\r\n" +
        "a=mid:0\r\n" +
        "a=sctp-port:5000\r\n";

    // Captured from Debian Chromium 156.0.8078.79 (headless, ChromiumInteropTests, loopback-only namespace): its offer
    // carries no candidate at all (it trickles none on loopback; its side shows up to us as peer-reflexive).
    private const string Chromium156Offer =
        "v=0\r\n" +
        "o=- 3496309300504961907 2 IN IP4 127.0.0.1\r\n" +
        "s=-\r\n" +
        "t=0 0\r\n" +
        "a=group:BUNDLE 0\r\n" +
        "a=extmap-allow-mixed\r\n" +
        "a=msid-semantic: WMS\r\n" +
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n" +
        "c=IN IP4 0.0.0.0\r\n" +
        "a=ice-ufrag:MW4d\r\n" +
        "a=ice-pwd:oSnca6G5IiXU6JdEAFJeKtTh\r\n" +
        "a=ice-options:trickle\r\n" +
        "a=fingerprint:sha-256 D1:12:9B:9C:03:91:62:2F:52:06:6D:5E:4B:09:39:C5:C9:63:E0:DF:67:B2:A3:4D:48:E2:C6:D2:D9:74:D9:6E\r\n" +
        "a=setup:actpass\r\n" +
        "a=mid:0\r\n" +
        "a=sctp-port:5000\r\n" +
        "a=max-message-size:262144\r\n";

    // Captured likewise: Chromium 156's answer to our offer. Unlike older Chromium it does carry a=max-message-size.
    private const string Chromium156Answer =
        "v=0\r\n" +
        "o=- 1921395884673557975 2 IN IP4 127.0.0.1\r\n" +
        "s=-\r\n" +
        "t=0 0\r\n" +
        "a=group:BUNDLE 0\r\n" +
        "a=msid-semantic: WMS\r\n" +
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n" +
        "c=IN IP4 0.0.0.0\r\n" +
        "a=ice-ufrag:mfe4\r\n" +
        "a=ice-pwd:qkNcJcOgTzXQitODygfYVM8A\r\n" +
        "a=ice-options:trickle\r\n" +
        "a=fingerprint:sha-256 37:B4:DC:5E:3B:E0:BE:95:00:9C:C6:E2:28:CF:F0:D3:E3:6E:BE:D4:18:BB:03:5A:FF:8C:96:45:21:0F:5F:F5\r\n" +
        "a=setup:active\r\n" +
        "a=mid:0\r\n" +
        "a=sctp-port:5000\r\n" +
        "a=max-message-size:262144\r\n";

    // aiortc 1.4 offer: legacy DTLS/SCTP + sctpmap, candidates with end-of-candidates, sha-1 and sha-256 fingerprints.
    private const string AiortcOffer =
        "v=0\r\n" +
        "o=- 3900227580 3900227580 IN IP4 0.0.0.0\r\n" +
        "s=-\r\n" +
        "t=0 0\r\n" +
        "a=group:BUNDLE 0\r\n" +
        "a=msid-semantic:WMS *\r\n" +
        "m=application 52618 DTLS/SCTP 5000\r\n" +
        "c=IN IP4 127.0.0.1\r\n" +
        "a=mid:0\r\n" +
        "a=sctpmap:5000 webrtc-datachannel 65535\r\n" +
        "a=max-message-size:65536\r\n" +
        "a=candidate:7b3a1c0f2e5d4a6b8c9d0e1f2a3b4c5d 1 udp 2130706431 127.0.0.1 52618 typ host\r\n" +
        "a=end-of-candidates\r\n" +
        "a=ice-ufrag:QzLs\r\n" +
        "a=ice-pwd:Ym0Ha7tB9cKdE2fG4hJ6kL8m\r\n" +
        "a=fingerprint:sha-1 5E:2A:0B:11:3C:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22\r\n" +
        "a=fingerprint:" + Fp + "\r\n" +
        "a=setup:actpass\r\n";

    // Firefox-style offer with an audio section first: session-level fingerprint and ice-options, upper-case UDP.
    private const string FirefoxOfferWithAudio =
        "v=0\r\n" +
        "o=mozilla...THIS_IS_SDPARTA-99.0 7167218442337302521 0 IN IP4 0.0.0.0\r\n" +
        "s=-\r\n" +
        "t=0 0\r\n" +
        "a=fingerprint:" + Fp + "\r\n" +
        "a=group:BUNDLE 0 1\r\n" +
        "a=ice-options:trickle\r\n" +
        "a=msid-semantic:WMS *\r\n" +
        "m=audio 9 UDP/TLS/RTP/SAVPF 109\r\n" +
        "c=IN IP4 0.0.0.0\r\n" +
        "a=candidate:9 1 UDP 1 198.51.100.9 9 typ host\r\n" +
        "a=ice-pwd:audioaudioaudioaudioaudio\r\n" +
        "a=ice-ufrag:audi\r\n" +
        "a=mid:0\r\n" +
        "a=setup:actpass\r\n" +
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n" +
        "c=IN IP4 0.0.0.0\r\n" +
        "a=candidate:0 1 UDP 2122252543 127.0.0.1 51200 typ host\r\n" +
        "a=sendrecv\r\n" +
        "a=end-of-candidates\r\n" +
        "a=ice-pwd:8e2f4b7c1a9d3e5f6a7b8c9d0e1f2a3b\r\n" +
        "a=ice-ufrag:5c1d2e3f\r\n" +
        "a=mid:1\r\n" +
        "a=setup:actpass\r\n" +
        "a=sctp-port:5000\r\n" +
        "a=max-message-size:1073741823\r\n";

    [Fact]
    public void Parse_FirefoxOfferWithAudioFirst_ReadsOnlyTheApplicationSection()
    {
        var offer = SessionDescription.Parse(FirefoxOfferWithAudio, SdpType.Offer);

        Assert.Equal("5c1d2e3f", offer.IceUfrag);
        Assert.Equal("8e2f4b7c1a9d3e5f6a7b8c9d0e1f2a3b", offer.IcePwd);
        Assert.Equal("1", offer.Mid);
        Assert.Equal(DtlsFingerprint.Parse(Fp), offer.Fingerprint); // from session level
        Assert.True(offer.IceTrickle);
        Assert.Equal(1073741823, offer.EffectiveMaxMessageSize);
        var candidate = Assert.Single(offer.Candidates);
        Assert.Equal("udp", candidate.Protocol);
        Assert.Equal(51200, candidate.Port);
        Assert.True(offer.EndOfCandidates);
    }

    [Fact]
    public void Parse_ChromiumOffer_ReadsIceDtlsSctpAndCandidates()
    {
        var offer = SessionDescription.Parse(ChromiumOffer, SdpType.Offer);

        Assert.Equal("Xk4/", offer.IceUfrag);
        Assert.Equal("g7P1lQ2pV5jz0X3hYc4T9bRw", offer.IcePwd);
        Assert.True(offer.IceTrickle);
        Assert.Equal(DtlsFingerprint.Parse(Fp), offer.Fingerprint);
        Assert.Equal(DtlsSetup.ActPass, offer.Setup);
        Assert.Equal("0", offer.Mid);
        Assert.Equal(5000, offer.SctpPort);
        Assert.Equal(262144, offer.EffectiveMaxMessageSize);
        Assert.False(offer.IsLegacySctpmap);
        Assert.Equal(4611731400430051336UL, offer.SessionId);
        Assert.Equal(2, offer.Candidates.Count);
        Assert.Null(offer.Candidates[0].EndPoint); // mDNS name, unresolved
        Assert.Equal(IceCandidateType.ServerReflexive, offer.Candidates[1].Type);
        Assert.Equal("203.0.113.7", offer.Candidates[1].Address);
        Assert.Equal("0.0.0.0", offer.Candidates[1].RelatedAddress);
        Assert.Equal(1686052607u, offer.Candidates[1].Priority);
        Assert.False(offer.EndOfCandidates);
    }

    [Fact]
    public void Parse_ChromiumAnswerWithoutMaxMessageSize_Means64KiB()
    {
        var answer = SessionDescription.Parse(ChromiumAnswer, SdpType.Answer);

        Assert.Null(answer.MaxMessageSize);
        Assert.Equal(65536, answer.EffectiveMaxMessageSize);
        Assert.Equal(DtlsSetup.Active, answer.Setup);
        Assert.Empty(answer.Candidates);
    }

    [Fact]
    public void Parse_CapturedChromium156Offer_HasNoCandidatesAndAllowsQuarterMebibyte()
    {
        var offer = SessionDescription.Parse(Chromium156Offer, SdpType.Offer);

        Assert.Equal("MW4d", offer.IceUfrag);
        Assert.Equal("oSnca6G5IiXU6JdEAFJeKtTh", offer.IcePwd);
        Assert.True(offer.IceTrickle);
        Assert.Equal(DtlsSetup.ActPass, offer.Setup);
        Assert.Equal("0", offer.Mid);
        Assert.Equal(5000, offer.SctpPort);
        Assert.Equal(262144, offer.EffectiveMaxMessageSize);
        Assert.Empty(offer.Candidates);
        Assert.False(offer.EndOfCandidates);
        Assert.Equal(3496309300504961907UL, offer.SessionId);
    }

    [Fact]
    public void Parse_CapturedChromium156Answer_CarriesMaxMessageSize()
    {
        var answer = SessionDescription.Parse(Chromium156Answer, SdpType.Answer);

        Assert.Equal(262144, answer.MaxMessageSize);
        Assert.Equal(DtlsSetup.Active, answer.Setup);
        Assert.Equal(DtlsFingerprint.Parse("sha-256 37:B4:DC:5E:3B:E0:BE:95:00:9C:C6:E2:28:CF:F0:D3:E3:6E:BE:D4:18:BB:03:5A:FF:8C:96:45:21:0F:5F:F5"), answer.Fingerprint);
        Assert.Empty(answer.Candidates);
    }

    [Fact]
    public void Parse_AiortcLegacySctpmap_ReadsPortAndPrefersSha256()
    {
        var offer = SessionDescription.Parse(AiortcOffer.Replace("\r\n", "\n", StringComparison.Ordinal), SdpType.Offer);

        Assert.True(offer.IsLegacySctpmap);
        Assert.Equal(5000, offer.SctpPort);
        Assert.Equal(65536, offer.EffectiveMaxMessageSize);
        Assert.Equal("sha-256", offer.Fingerprint.Algorithm);
        Assert.False(offer.IceTrickle);
        Assert.True(offer.EndOfCandidates);
        var candidate = Assert.Single(offer.Candidates);
        Assert.Equal(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 52618), candidate.EndPoint);
        Assert.Equal(IceCandidateType.Host, candidate.Type);
    }

    [Fact]
    public void ToString_OurOffer_RoundTripsAndCarriesTheRequiredLines()
    {
        var (ufrag, pwd) = SessionDescription.NewIceCredentials();
        var offer = new SessionDescription
        {
            Type = SdpType.Offer,
            IceUfrag = ufrag,
            IcePwd = pwd,
            Fingerprint = DtlsFingerprint.Parse(Fp),
            Setup = DtlsSetup.ActPass,
            Candidates = [new IceCandidate { Foundation = "1", Priority = IceCandidate.ComputePriority(IceCandidateType.Host, 65535), Address = "127.0.0.1", Port = 40000, Type = IceCandidateType.Host }],
            EndOfCandidates = true,
        };

        var text = offer.ToString();
        var parsed = SessionDescription.Parse(text, SdpType.Offer);

        Assert.Contains("m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n", text, StringComparison.Ordinal);
        Assert.Contains("a=sctp-port:5000\r\n", text, StringComparison.Ordinal);
        Assert.Contains("a=max-message-size:262144\r\n", text, StringComparison.Ordinal);
        Assert.Contains("a=setup:actpass\r\n", text, StringComparison.Ordinal);
        Assert.Contains("a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host\r\n", text, StringComparison.Ordinal);
        Assert.Equal(offer with { Candidates = parsed.Candidates }, parsed);
        Assert.Equal(offer.Candidates[0].ToString(), parsed.Candidates[0].ToString());
        Assert.True(ufrag.Length * 6 >= 24 && pwd.Length * 6 >= 128); // RFC 8445 §5.3 randomness
    }

    [Fact]
    public void ComputePriority_Host_MatchesRfc8445Formula()
    {
        Assert.Equal((126u << 24) + (65535u << 8) + 255u, IceCandidate.ComputePriority(IceCandidateType.Host, 65535));
        Assert.Equal(2130706431u, IceCandidate.ComputePriority(IceCandidateType.Host, 65535));
    }

    [Theory]
    [InlineData("", "no 'm=application")]
    [InlineData("v=1\r\n", "v=0")]
    [InlineData("v=0\r\nthis is not sdp\r\n", "line 2")]
    [InlineData("v=0\r\nm=application 9 RTP/AVP 0\r\n", "Unsupported application protocol")]
    [InlineData("v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\n", "no a=fingerprint")]
    [InlineData("v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=ice-ufrag:ab\r\n", "ice-ufrag")]
    [InlineData("v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=sctp-port:99999\r\n", "sctp-port")]
    [InlineData("v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=candidate:1 1 udp x 1.2.3.4 5 typ host\r\n", "line 3")]
    [InlineData("v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=fingerprint:sha-256 AB:CD\r\n", "fingerprint")]
    public void Parse_Malformed_ThrowsTypedErrorWithReason(string sdp, string expected)
    {
        var error = Assert.Throws<SdpParseException>(() => SessionDescription.Parse(sdp, SdpType.Offer));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_AnswerWithActpass_IsRejected()
    {
        var text = ChromiumAnswer.Replace("a=setup:active", "a=setup:actpass", StringComparison.Ordinal);
        Assert.Throws<SdpParseException>(() => SessionDescription.Parse(text, SdpType.Answer));
    }

    [Fact]
    public void Parse_HugeInput_IsRefusedBeforeParsing()
    {
        var text = "v=0\r\n" + new string('x', 70_000);
        var error = Assert.Throws<SdpParseException>(() => SessionDescription.Parse(text, SdpType.Offer));
        Assert.Contains("at most", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Blob_RoundTrip_IsCompactAndEqual()
    {
        var offer = SessionDescription.Parse(ChromiumOffer, SdpType.Offer);

        var blob = SdpBlob.Encode(offer);
        var decoded = SdpBlob.Decode(blob);

        Assert.StartsWith("oz", blob, StringComparison.Ordinal);
        Assert.True(blob.Length < offer.ToString().Length);
        Assert.Equal(offer.ToString(), decoded.ToString());
        Assert.Equal(SdpType.Offer, decoded.Type);
    }

    [Theory]
    [InlineData("hello world")]
    [InlineData("oz!!!!")]
    [InlineData("ozAAAAAAAAAAAAAA")]
    [InlineData("apdj0K")]
    [InlineData("xz" + "AAAA")]
    public void Blob_Garbage_ThrowsSdpBlobException(string garbage)
    {
        Assert.Throws<SdpBlobException>(() => SdpBlob.Decode(garbage));
    }
}
