using System.Globalization;
using System.Net;
using System.Text;

namespace Messenger.Transport.Ice;

/// <summary>Candidate types and their RFC 8445 §5.1.2.2 recommended type preferences.</summary>
public enum IceCandidateType
{
    Host,
    ServerReflexive,
    PeerReflexive,
    Relayed,
}

/// <summary>
/// One ICE candidate as SDP's a=candidate carries it (RFC 8839 §5.1). <see cref="Address"/> is an IP literal or,
/// from browsers hiding local addresses, an mDNS name (".local"), which this stack does not resolve.
/// </summary>
public sealed record IceCandidate
{
    public const int MaxLineLength = 1024;

    public required string Foundation { get; init; }

    public int Component { get; init; } = 1;

    public string Protocol { get; init; } = "udp";

    public required uint Priority { get; init; }

    public required string Address { get; init; }

    public required int Port { get; init; }

    public required IceCandidateType Type { get; init; }

    public string? RelatedAddress { get; init; }

    public int? RelatedPort { get; init; }

    /// <summary>Extension attributes after the mandatory ones (generation, ufrag, network-id…), kept as sent.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Extensions { get; init; } = [];

    /// <summary>The address as an endpoint, or null when it is an unresolved name (mDNS).</summary>
    public IPEndPoint? EndPoint => IPAddress.TryParse(Address, out var ip) ? new IPEndPoint(ip, Port) : null;

    /// <summary>RFC 8445 §5.1.2.1: (2^24)·type preference + (2^8)·local preference + (256 − component id).</summary>
    public static uint ComputePriority(IceCandidateType type, int localPreference, int component = 1) =>
        (uint)((TypePreference(type) << 24) + (localPreference << 8) + (256 - component));

    /// <summary>RFC 8445 §5.1.2.2 recommended values: host 126, peer-reflexive 110, server-reflexive 100, relayed 0.</summary>
    public static int TypePreference(IceCandidateType type) => type switch
    {
        IceCandidateType.Host => 126,
        IceCandidateType.PeerReflexive => 110,
        IceCandidateType.ServerReflexive => 100,
        _ => 0,
    };

    /// <summary>Parses "candidate:…" (with or without the "a=" prefix), as in SDP or a trickled candidate.</summary>
    /// <exception cref="FormatException">Not a well-formed candidate attribute.</exception>
    public static IceCandidate Parse(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        if (line.Length > MaxLineLength)
        {
            throw new FormatException($"A candidate line longer than {MaxLineLength} characters is refused.");
        }

        var text = line.Trim();
        if (text.StartsWith("a=", StringComparison.Ordinal))
        {
            text = text[2..];
        }

        if (!text.StartsWith("candidate:", StringComparison.Ordinal))
        {
            throw new FormatException("A candidate attribute starts with 'candidate:'.");
        }

        var fields = text["candidate:".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);

        // RFC 8839 §5.1: foundation component transport priority address port "typ" type [raddr a rport p] *(name value).
        if (fields.Length < 8 || fields[6] != "typ")
        {
            throw new FormatException($"'{text}' lacks 'foundation component transport priority address port typ type'.");
        }

        if (fields[0].Length is 0 or > 32 || !int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var component)
            || component is < 1 or > 256
            || !uint.TryParse(fields[3], NumberStyles.None, CultureInfo.InvariantCulture, out var priority)
            || !int.TryParse(fields[5], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
        {
            throw new FormatException($"'{text}' has a bad foundation, component, priority or port.");
        }

        var type = fields[7] switch
        {
            "host" => IceCandidateType.Host,
            "srflx" => IceCandidateType.ServerReflexive,
            "prflx" => IceCandidateType.PeerReflexive,
            "relay" => IceCandidateType.Relayed,
            _ => throw new FormatException($"Unknown candidate type '{fields[7]}'."),
        };

        string? relatedAddress = null;
        int? relatedPort = null;
        var extensions = new List<KeyValuePair<string, string>>();
        for (var i = 8; i + 1 < fields.Length; i += 2)
        {
            switch (fields[i])
            {
                case "raddr":
                    relatedAddress = fields[i + 1];
                    break;
                case "rport" when int.TryParse(fields[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var rport) && rport <= 65535:
                    relatedPort = rport;
                    break;
                case "rport":
                    throw new FormatException($"Bad rport '{fields[i + 1]}'.");
                default:
                    extensions.Add(new(fields[i], fields[i + 1]));
                    break;
            }
        }

        return new IceCandidate
        {
            Foundation = fields[0],
            Component = component,
            Protocol = fields[2].ToLowerInvariant(),
            Priority = priority,
            Address = fields[4],
            Port = port,
            Type = type,
            RelatedAddress = relatedAddress,
            RelatedPort = relatedPort,
            Extensions = extensions,
        };
    }

    /// <summary>The attribute value "candidate:…" without "a=".</summary>
    public override string ToString()
    {
        var text = new StringBuilder(96);
        text.Append(CultureInfo.InvariantCulture, $"candidate:{Foundation} {Component} {Protocol} {Priority} {Address} {Port} typ ");
        text.Append(Type switch
        {
            IceCandidateType.Host => "host",
            IceCandidateType.ServerReflexive => "srflx",
            IceCandidateType.PeerReflexive => "prflx",
            _ => "relay",
        });
        if (RelatedAddress is not null)
        {
            text.Append(CultureInfo.InvariantCulture, $" raddr {RelatedAddress} rport {RelatedPort ?? 0}");
        }

        foreach (var (name, value) in Extensions)
        {
            text.Append(' ').Append(name).Append(' ').Append(value);
        }

        return text.ToString();
    }
}
