using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Messenger.Transport.Dtls;
using Messenger.Transport.Ice;

namespace Messenger.Transport.Sdp;

/// <summary>Offer or answer (RFC 8829 §5.2, §5.3).</summary>
public enum SdpType
{
    Offer,
    Answer,
}

/// <summary>a=setup values (RFC 4145 §4, RFC 8842 §5).</summary>
public enum DtlsSetup
{
    ActPass,
    Active,
    Passive,
}

/// <summary>
/// A data-channel-only session description: one m=application section for SCTP over DTLS (RFC 8841) with the ICE
/// credentials (RFC 8839), DTLS fingerprint and setup (RFC 8842), and inline candidates. Build with the
/// properties, <see cref="ToString"/> to SDP text, <see cref="Parse"/> to read text from any peer.
/// </summary>
public sealed record SessionDescription
{
    public const int DefaultSctpPort = 5000;
    public const int DefaultMaxMessageSize = 262144;

    /// <summary>RFC 8841 §6.1: a missing a=max-message-size means 64 KiB.</summary>
    public const int ImpliedMaxMessageSize = 65536;

    public required SdpType Type { get; init; }

    public required string IceUfrag { get; init; }

    public required string IcePwd { get; init; }

    public bool IceTrickle { get; init; } = true;

    public required DtlsFingerprint Fingerprint { get; init; }

    public required DtlsSetup Setup { get; init; }

    public string Mid { get; init; } = "0";

    public int SctpPort { get; init; } = DefaultSctpPort;

    /// <summary>The a=max-message-size value; null when absent (the peer then accepts 64 KiB).</summary>
    public int? MaxMessageSize { get; init; } = DefaultMaxMessageSize;

    /// <summary>What the peer will accept: <see cref="MaxMessageSize"/>, 64 KiB when absent; 0 means no limit (RFC 8841 §6).</summary>
    public int EffectiveMaxMessageSize => MaxMessageSize switch
    {
        null => ImpliedMaxMessageSize,
        0 => int.MaxValue,
        var size => size.Value,
    };

    public IReadOnlyList<IceCandidate> Candidates { get; init; } = [];

    public bool EndOfCandidates { get; init; }

    /// <summary>True when parsed from the pre-RFC form "DTLS/SCTP 5000" with a=sctpmap (aiortc 1.4).</summary>
    public bool IsLegacySctpmap { get; init; }

    public ulong SessionId { get; init; } = RandomSessionId();

    public ulong SessionVersion { get; init; } = 2;

    /// <summary>Fresh ICE credentials: RFC 8445 §5.3 asks ≥24 random bits of ufrag and ≥128 of password.</summary>
    public static (string Ufrag, string Pwd) NewIceCredentials() => (RandomIceChars(8), RandomIceChars(24));

    /// <summary>Parses SDP text from any peer into the data channel section's values.</summary>
    /// <exception cref="SdpParseException">The text is malformed, too large, or has no usable data channel section.</exception>
    public static SessionDescription Parse(string sdp, SdpType type) => SdpParser.Parse(sdp, type);

    /// <summary>The SDP text, CRLF line ends (RFC 8866 §5).</summary>
    public override string ToString()
    {
        var text = new StringBuilder(1024);
        void Line(string line) => text.Append(line).Append("\r\n");
        Line("v=0");
        Line(FormattableString.Invariant($"o=- {SessionId} {SessionVersion} IN IP4 127.0.0.1"));
        Line("s=-");
        Line("t=0 0");
        Line($"a=group:BUNDLE {Mid}");
        Line("a=msid-semantic: WMS");
        Line(IsLegacySctpmap
            ? FormattableString.Invariant($"m=application 9 DTLS/SCTP {SctpPort}")
            : "m=application 9 UDP/DTLS/SCTP webrtc-datachannel");
        Line("c=IN IP4 0.0.0.0");
        foreach (var candidate in Candidates)
        {
            Line("a=" + candidate);
        }

        if (EndOfCandidates)
        {
            Line("a=end-of-candidates");
        }

        Line("a=ice-ufrag:" + IceUfrag);
        Line("a=ice-pwd:" + IcePwd);
        if (IceTrickle)
        {
            Line("a=ice-options:trickle");
        }

        Line("a=fingerprint:" + Fingerprint);
        Line("a=setup:" + Setup.ToString().ToLowerInvariant());
        Line("a=mid:" + Mid);
        if (IsLegacySctpmap)
        {
            Line(FormattableString.Invariant($"a=sctpmap:{SctpPort} webrtc-datachannel 65535"));
        }
        else
        {
            Line(FormattableString.Invariant($"a=sctp-port:{SctpPort}"));
        }

        if (MaxMessageSize is { } max)
        {
            Line(FormattableString.Invariant($"a=max-message-size:{max}"));
        }

        return text.ToString();
    }

    private static ulong RandomSessionId() => BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)) >> 2; // RFC 8866 §5.2: a numeric id; kept positive in a signed 64-bit integer, as browsers do

    // RFC 8839 §5.4: ice-char = ALPHA / DIGIT / "+" / "/"
    private static string RandomIceChars(int length) =>
        RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", length);

    internal static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
