using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Messenger.Transport.Tests.Interop;

/// <summary>
/// usrsctp's <c>tsctp</c> (Debian <c>libusrsctp-examples</c>) as a child process on 127.0.0.1. Its per-event debug
/// lines (prefixed <c>[S]</c>) are filtered out by grep so only its summary lines reach us.
/// </summary>
internal sealed partial class TsctpProcess : IDisposable
{
    public const string Path = "/usr/lib/usrsctp/tsctp";

    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly TaskCompletionSource<TsctpStats> _stats = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _bound = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private TsctpProcess(string arguments)
    {
        var start = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-c");
        // Its per-event debug lines are dropped, but for the one that says the SCTP port is bound (it listens next).
        // sed -u reads its input unbuffered (mawk reads in blocks and held that line back until tsctp wrote more).
        start.ArgumentList.Add($"{Path} {arguments} 2>&1 | sed -u -n -e '/bound port:/p' -e '/^\\[S\\]/!p'");
        _process = new Process { StartInfo = start, EnableRaisingEvents = true };
        _process.OutputDataReceived += (_, e) => OnLine(e.Data);
        _process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        _process.Exited += (_, _) => _exited.TrySetResult();
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>
    /// Completes once tsctp has bound its SCTP port: an INIT sent before that is answered with an ABORT (usrsctp has no
    /// endpoint for it yet), which made the server tests fail now and then.
    /// </summary>
    public Task Bound => _bound.Task;

    /// <summary>tsctp's last line: <c>msglen, sent, received, bytes, seconds, bytes/s, …</c>.</summary>
    public Task<TsctpStats> Stats => _stats.Task;

    public Task Exited => _exited.Task;

    public string Output
    {
        get
        {
            lock (_lines)
            {
                return string.Join('\n', _lines.TakeLast(20));
            }
        }
    }

    /// <summary>A passive tsctp: it accepts associations on SCTP <paramref name="sctpPort"/> and prints stats per association.</summary>
    public static TsctpProcess StartServer(int localUdpPort, int remoteUdpPort, int sctpPort) =>
        Start($"-E {localUdpPort} -U {remoteUdpPort} -p {sctpPort} -L 127.0.0.1");

    /// <summary>An active tsctp that sends <paramref name="count"/> messages of <paramref name="length"/> bytes, then shuts down.</summary>
    public static TsctpProcess StartClient(int localUdpPort, int remoteUdpPort, int sctpPort, int length, int count, bool unordered) =>
        Start($"-E {localUdpPort} -U {remoteUdpPort} -p {sctpPort} -l {length} -n {count}{(unordered ? " -u" : "")} -L 127.0.0.1 127.0.0.1");

    private static TsctpProcess Start(string arguments)
    {
        if (!File.Exists(Path))
        {
            Assert.Fail($"{Path} is missing: install the Debian package libusrsctp-examples (apt-get install -y libusrsctp-examples).");
        }

        return new TsctpProcess(arguments);
    }

    /// <summary>A UDP port on 127.0.0.1 that was free a moment ago, for the child to bind.</summary>
    public static int FreeUdpPort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        if (line.Contains("bound port:", StringComparison.Ordinal))
        {
            _bound.TrySetResult();
            return;
        }

        lock (_lines)
        {
            _lines.Add(line);
        }

        var match = StatsLine().Match(line);
        if (match.Success)
        {
            _stats.TrySetResult(new TsctpStats(
                int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture),
                long.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture),
                long.Parse(match.Groups[3].Value, CultureInfo.InvariantCulture),
                long.Parse(match.Groups[4].Value, CultureInfo.InvariantCulture),
                double.Parse(match.Groups[5].Value, CultureInfo.InvariantCulture),
                double.Parse(match.Groups[6].Value, CultureInfo.InvariantCulture)));
        }
    }

    [GeneratedRegex(@"^(\d+), (\d+), (\d+), (\d+), ([\d.]+), ([\d.]+)")]
    private static partial Regex StatsLine();

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // It exited between the check and the kill.
        }

        _process.Dispose();
    }
}

internal readonly record struct TsctpStats(int MessageLength, long Sent, long Received, long Bytes, double Seconds, double BytesPerSecond);
