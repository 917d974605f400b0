using System.Globalization;
using Messenger.Transport.Dtls;
using Messenger.Transport.Ice;

namespace Messenger.Transport.Sdp;

/// <summary>Reads the data channel section of SDP text (RFC 8866 §5) from untrusted peers, with size limits.</summary>
internal static class SdpParser
{
    public const int MaxLength = 64 * 1024;
    public const int MaxLines = 2048;
    public const int MaxCandidates = 256;

    private sealed class Values
    {
        public string? Ufrag;
        public string? Pwd;
        public bool Trickle;
        public DtlsFingerprint? Fingerprint;
        public DtlsSetup? Setup;
    }

    public static SessionDescription Parse(string sdp, SdpType type)
    {
        ArgumentNullException.ThrowIfNull(sdp);
        if (sdp.Length > MaxLength)
        {
            throw new SdpParseException($"The SDP is {sdp.Length} characters; at most {MaxLength} are accepted.");
        }

        var lines = sdp.Split('\n');
        if (lines.Length > MaxLines)
        {
            throw new SdpParseException($"The SDP has {lines.Length} lines; at most {MaxLines} are accepted.");
        }

        var session = new Values();
        var media = new Values();
        var inMedia = false;
        var inOtherMedia = false;
        var found = false;
        var legacy = false;
        string? mid = null;
        int? sctpPort = null;
        int? maxMessageSize = null;
        ulong sessionId = 0, sessionVersion = 0;
        var endOfCandidates = false;
        var candidates = new List<IceCandidate>();
        var sawVersion = false;
        for (var index = 0; index < lines.Length; index++)
        {
            var number = index + 1;
            var line = lines[index].TrimEnd('\r');
            if (line.Length == 0)
            {
                continue;
            }

            // RFC 8866 §5: every line is <type>=<value> with a one-letter type.
            if (line.Length < 2 || line[1] != '=' || !char.IsAsciiLetterLower(line[0]))
            {
                throw new SdpParseException($"'{Clip(line)}' is not '<letter>=<value>'.", number);
            }

            var value = line[2..];
            if (!sawVersion)
            {
                if (line != "v=0")
                {
                    throw new SdpParseException("SDP starts with 'v=0' (RFC 8866 §5.1).", number);
                }

                sawVersion = true;
                continue;
            }

            switch (line[0])
            {
                case 'o' when !inMedia:
                    var origin = value.Split(' ');
                    if (origin.Length != 6 || !ulong.TryParse(origin[1], NumberStyles.None, CultureInfo.InvariantCulture, out sessionId)
                        || !ulong.TryParse(origin[2], NumberStyles.None, CultureInfo.InvariantCulture, out sessionVersion))
                    {
                        throw new SdpParseException("The o= line is not '<user> <sess-id> <sess-version> IN IP4 <addr>'.", number);
                    }

                    break;
                case 'm':
                    if (found)
                    {
                        index = lines.Length; // a later section (audio, video, a second application) is not ours
                        break;
                    }

                    var fields = value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    if (fields.Length < 4)
                    {
                        throw new SdpParseException("An m= line has media, port, proto and format.", number);
                    }

                    if (fields[0] != "application")
                    {
                        // Another kind of section (audio, video): its attributes are not ours, skip to the next m=.
                        inMedia = false;
                        inOtherMedia = true;
                        continue;
                    }

                    inOtherMedia = false;

                    if (fields[2] is "UDP/DTLS/SCTP" or "TCP/DTLS/SCTP" && fields[3] == "webrtc-datachannel")
                    {
                        legacy = false;
                    }
                    else if (fields[2] == "DTLS/SCTP" && int.TryParse(fields[3], NumberStyles.None, CultureInfo.InvariantCulture, out var legacyPort))
                    {
                        // draft-ietf-mmusic-sctp-sdp-05 form (aiortc 1.4): the SCTP port is the format.
                        legacy = true;
                        sctpPort = legacyPort;
                    }
                    else
                    {
                        throw new SdpParseException($"Unsupported application protocol '{fields[2]} {fields[3]}'; expected UDP/DTLS/SCTP webrtc-datachannel.", number);
                    }

                    inMedia = true;
                    found = true;
                    break;
                case 'a':
                    if (inOtherMedia || (!inMedia && found))
                    {
                        break;
                    }

                    ParseAttribute(value, inMedia ? media : session, number, inMedia, ref mid, ref sctpPort, ref maxMessageSize, ref endOfCandidates, candidates);
                    break;
                default:
                    break; // s=, t=, c=, b= and others carry nothing a data channel needs
            }
        }

        if (!found)
        {
            throw new SdpParseException("The SDP has no 'm=application … UDP/DTLS/SCTP webrtc-datachannel' section.", 0);
        }

        // RFC 8839 §5.4, RFC 8122 §5: media-level values override session-level ones.
        var ufrag = media.Ufrag ?? session.Ufrag ?? throw new SdpParseException("The SDP has no a=ice-ufrag.", 0);
        var pwd = media.Pwd ?? session.Pwd ?? throw new SdpParseException("The SDP has no a=ice-pwd.", 0);
        var fingerprint = media.Fingerprint ?? session.Fingerprint ?? throw new SdpParseException("The SDP has no a=fingerprint.", 0);
        var setup = media.Setup ?? session.Setup ?? (type == SdpType.Offer ? DtlsSetup.ActPass : DtlsSetup.Active); // RFC 4145 §4: absent means active
        if (type == SdpType.Answer && setup == DtlsSetup.ActPass)
        {
            throw new SdpParseException("An answer cannot say a=setup:actpass (RFC 8842 §5.3).", 0);
        }

        return new SessionDescription
        {
            Type = type,
            IceUfrag = ufrag,
            IcePwd = pwd,
            IceTrickle = media.Trickle || session.Trickle,
            Fingerprint = fingerprint,
            Setup = setup,
            Mid = mid ?? "0",
            SctpPort = sctpPort ?? SessionDescription.DefaultSctpPort,
            MaxMessageSize = maxMessageSize,
            Candidates = candidates,
            EndOfCandidates = endOfCandidates,
            IsLegacySctpmap = legacy,
            SessionId = sessionId,
            SessionVersion = sessionVersion,
        };
    }

    private static void ParseAttribute(string value, Values values, int number, bool inMedia, ref string? mid, ref int? sctpPort, ref int? maxMessageSize, ref bool endOfCandidates, List<IceCandidate> candidates)
    {
        var colon = value.IndexOf(':', StringComparison.Ordinal);
        var name = colon < 0 ? value : value[..colon];
        var argument = colon < 0 ? "" : value[(colon + 1)..].Trim();
        switch (name)
        {
            case "ice-ufrag":
                // RFC 8839 §5.4: 4 to 256 ice-chars.
                values.Ufrag = argument.Length is >= 4 and <= 256 && IsIceChars(argument) ? argument
                    : throw new SdpParseException("a=ice-ufrag must be 4 to 256 ice-chars (RFC 8839 §5.4).", number);
                break;
            case "ice-pwd":
                values.Pwd = argument.Length is >= 22 and <= 256 && IsIceChars(argument) ? argument
                    : throw new SdpParseException("a=ice-pwd must be 22 to 256 ice-chars (RFC 8839 §5.4).", number);
                break;
            case "ice-options":
                values.Trickle |= argument.Split(' ').Contains("trickle");
                break;
            case "fingerprint":
                try
                {
                    var fingerprint = DtlsFingerprint.Parse(argument);

                    // RFC 8122 §5: several may be given; prefer SHA-256, the one every browser sends.
                    if (values.Fingerprint is null || (fingerprint.Algorithm == "sha-256" && values.Fingerprint.Algorithm != "sha-256"))
                    {
                        values.Fingerprint = fingerprint;
                    }
                }
                catch (FormatException e)
                {
                    // An unsupported hash (sha-1) beside a supported one is fine; a malformed one is not.
                    if (argument.StartsWith("sha-256", StringComparison.OrdinalIgnoreCase))
                    {
                        throw new SdpParseException($"a=fingerprint: {e.Message}", number, e);
                    }
                }

                break;
            case "setup":
                values.Setup = argument switch
                {
                    "actpass" => DtlsSetup.ActPass,
                    "active" => DtlsSetup.Active,
                    "passive" => DtlsSetup.Passive,
                    _ => throw new SdpParseException($"a=setup:{Clip(argument)} is not actpass, active or passive.", number),
                };
                break;
            case "mid" when inMedia:
                mid = argument.Length is > 0 and <= 32 ? argument : throw new SdpParseException("a=mid must be 1 to 32 characters.", number);
                break;
            case "sctp-port" when inMedia:
                sctpPort = ParseNumber(argument, 1, 65535, "a=sctp-port", number);
                break;
            case "sctpmap" when inMedia:
                // a=sctpmap:<port> webrtc-datachannel <streams> (legacy form).
                var parts = argument.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length < 2 || parts[1] != "webrtc-datachannel")
                {
                    throw new SdpParseException("a=sctpmap must be '<port> webrtc-datachannel [streams]'.", number);
                }

                sctpPort = ParseNumber(parts[0], 1, 65535, "a=sctpmap", number);
                break;
            case "max-message-size" when inMedia:
                maxMessageSize = ParseNumber(argument, 0, int.MaxValue, "a=max-message-size", number);
                break;
            case "candidate" when inMedia:
                if (candidates.Count >= MaxCandidates)
                {
                    throw new SdpParseException($"More than {MaxCandidates} candidates.", number);
                }

                try
                {
                    candidates.Add(IceCandidate.Parse(value));
                }
                catch (FormatException e)
                {
                    throw new SdpParseException(e.Message, number, e);
                }

                break;
            case "end-of-candidates":
                endOfCandidates = true;
                break;
            default:
                break;
        }
    }

    private static int ParseNumber(string text, int min, int max, string what, int number) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? (int)value
            : throw new SdpParseException($"{what} '{Clip(text)}' is not a number from {min} to {max}.", number);

    private static bool IsIceChars(string text)
    {
        foreach (var c in text)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '+' && c != '/')
            {
                return false;
            }
        }

        return true;
    }

    private static string Clip(string text) => text.Length <= 64 ? text : text[..64] + "…";
}
