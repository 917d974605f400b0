using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;

namespace Messenger.Transport.Ice;

/// <summary>The candidates a socket offers (RFC 8445 §5.1.1).</summary>
public static class HostCandidates
{
    /// <summary>Host candidates for a socket bound to <paramref name="local"/> (RFC 8445 §5.1.1.1).</summary>
    public static List<IceCandidate> GatherHostCandidates(IPEndPoint local, bool includeLoopback)
    {
        ArgumentNullException.ThrowIfNull(local);
        var addresses = new List<IPAddress>();
        if (!local.Address.Equals(IPAddress.Any) && !local.Address.Equals(IPAddress.IPv6Any))
        {
            addresses.Add(local.Address);
        }
        else
        {
            foreach (var networkInterface in NetworkInterface.GetAllNetworkInterfaces())
            {
                if (networkInterface.OperationalStatus != OperationalStatus.Up)
                {
                    continue;
                }

                foreach (var unicast in networkInterface.GetIPProperties().UnicastAddresses)
                {
                    var address = unicast.Address;
                    if (address.AddressFamily == local.AddressFamily && (includeLoopback || !IPAddress.IsLoopback(address)) && !address.IsIPv6LinkLocal)
                    {
                        addresses.Add(address);
                    }
                }
            }
        }

        var candidates = new List<IceCandidate>();
        for (var i = 0; i < addresses.Count; i++)
        {
            // RFC 8445 §5.1.2.1: distinct local preferences per address, the first preferred.
            candidates.Add(new IceCandidate
            {
                Foundation = Foundation(IceCandidateType.Host, addresses[i]),
                Priority = IceCandidate.ComputePriority(IceCandidateType.Host, 65535 - i),
                Address = addresses[i].ToString(),
                Port = local.Port,
                Type = IceCandidateType.Host,
            });
        }

        return candidates;
    }

    // RFC 8445 §5.1.1.3: same type and base address → same foundation.
    internal static string Foundation(IceCandidateType type, IPAddress baseAddress) =>
        ((uint)HashCode.Combine((int)type, baseAddress.ToString().GetHashCode(StringComparison.Ordinal)) % 1_000_000_000u).ToString(CultureInfo.InvariantCulture);

}
