using System.Net.NetworkInformation;

namespace Messenger.Interop.Tests;

/// <summary>
/// The interop tests start real peers that gather candidates on every interface they see; they must run in a
/// private network namespace whose only interface is loopback, so nothing leaves the machine.
/// <c>bash build.sh test</c> runs the suite inside <c>unshare -n</c> with <c>ip link set lo up</c>.
/// </summary>
internal static class LoopbackOnlyNetwork
{
    public static void Require()
    {
        var interfaces = NetworkInterface.GetAllNetworkInterfaces();
        var others = interfaces.Where(i => i.NetworkInterfaceType != NetworkInterfaceType.Loopback).Select(i => i.Name).ToList();
        if (others.Count > 0)
        {
            Assert.Fail($"Interop tests run only in a loopback-only network namespace (this one also has {string.Join(", ", others)}). "
                + "Run them with `bash build.sh test`, or: unshare -n bash -c 'ip link set lo up && dotnet test tests/Messenger.Interop.Tests'.");
        }

        if (!interfaces.Any(i => i.NetworkInterfaceType == NetworkInterfaceType.Loopback && i.OperationalStatus is OperationalStatus.Up or OperationalStatus.Unknown))
        {
            Assert.Fail("The loopback interface is down in this network namespace: run `ip link set lo up` first.");
        }
    }
}
