using System.Diagnostics;
using Messenger.Transport.Sctp;
using Xunit.Abstractions;

namespace Messenger.Transport.Tests.Interop;

[CollectionDefinition(nameof(UsrsctpInteropTests), DisableParallelization = true)]
public sealed class UsrsctpInteropCollection;

/// <summary>
/// Our association against a real usrsctp peer (<c>tsctp</c>, Debian <c>libusrsctp-examples</c>) over UDP
/// encapsulation on 127.0.0.1, in both roles. tsctp's debug build logs every event, which caps it near 30 MB/s.
/// </summary>
[Collection(nameof(UsrsctpInteropTests))]
public class UsrsctpInteropTests(ITestOutputHelper output)
{
    private const int SctpPort = 5001;
    private const int MessageLength = 64 * 1024;
    private const int MessageCount = 320; // 20 MiB
    private const long TotalBytes = (long)MessageLength * MessageCount;
    private static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SendToTsctpServer_TwentyMebibytes_AllBytesArriveAndShutdownIsClean(bool unordered)
    {
        using var timeout = new CancellationTokenSource(TestTimeout);
        using var driver = new UdpAssociationDriver(new SctpAssociationOptions { LocalPort = SctpPort, RemotePort = SctpPort });
        var tsctpUdpPort = TsctpProcess.FreeUdpPort();
        using var server = TsctpProcess.StartServer(tsctpUdpPort, driver.LocalUdpPort, SctpPort);
        await server.Bound.WaitAsync(TimeSpan.FromSeconds(10));
        driver.ConnectTo(tsctpUdpPort);

        var association = driver.Association;
        var events = new List<SctpEvent>();
        var payload = new byte[MessageLength];
        var sent = 0;
        var shutdownStarted = false;
        var clock = new Stopwatch();
        association.Connect(driver.Now);
        await driver.RunUntilAsync(
            done: () => events.Exists(e => e.Kind is SctpEventKind.Closed or SctpEventKind.Aborted),
            onEvent: e =>
            {
                if (e.Kind != SctpEventKind.BufferedAmountDecreased)
                {
                    events.Add(e);
                }

                if (e.Kind == SctpEventKind.Connected)
                {
                    clock.Start();
                }
            },
            beforeFlush: now =>
            {
                if (association.State != SctpAssociationState.Established)
                {
                    return;
                }

                // Keep about 2 MiB queued, as an application waiting on the buffered-amount-low signal would.
                while (sent < MessageCount && association.QueuedBytes < 2 * 1024 * 1024)
                {
                    association.Send(1, 0, payload, new SctpSendOptions(Unordered: unordered), now);
                    sent++;
                }

                if (sent == MessageCount && association.QueuedBytes == 0 && association.FlightSize == 0 && !shutdownStarted)
                {
                    shutdownStarted = true;
                    association.Shutdown(now);
                }
            },
            timeout.Token);
        clock.Stop();

        Assert.True(events[^1].Kind == SctpEventKind.Closed, $"the association ended {events[^1].Kind}: {events[^1].Reason}; events {string.Join(",", events.Select(e => e.Kind))}");
        var stats = await server.Stats.WaitAsync(TimeSpan.FromSeconds(10));
        output.WriteLine($"us > tsctp ({(unordered ? "unordered" : "ordered")}): tsctp reports {stats}; {TotalBytes / clock.Elapsed.TotalSeconds:N0} bytes/s on our clock");
        Assert.Equal(MessageLength, stats.MessageLength);
        Assert.Equal(MessageCount, stats.Received);
        Assert.Equal(TotalBytes, stats.Bytes);
        Assert.True(association.DroppedPackets == 0, string.Join('\n', driver.Dropped));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ReceiveFromTsctpClient_TwentyMebibytes_AllBytesArriveAndShutdownIsClean(bool unordered)
    {
        using var timeout = new CancellationTokenSource(TestTimeout);
        using var driver = new UdpAssociationDriver(new SctpAssociationOptions { LocalPort = SctpPort }, listen: true);
        var tsctpUdpPort = TsctpProcess.FreeUdpPort();
        driver.ConnectTo(tsctpUdpPort);

        var events = new List<SctpEvent>();
        var messages = 0;
        var bytes = 0L;
        var wrongLength = 0;
        var clock = new Stopwatch();
        using var client = TsctpProcess.StartClient(tsctpUdpPort, driver.LocalUdpPort, SctpPort, MessageLength, MessageCount, unordered);
        await driver.RunUntilAsync(
            done: () => events.Exists(e => e.Kind is SctpEventKind.Closed or SctpEventKind.Aborted),
            onEvent: e =>
            {
                switch (e.Kind)
                {
                    case SctpEventKind.MessageReceived:
                        messages++;
                        bytes += e.Message.Length;
                        wrongLength += e.Message.Length == MessageLength ? 0 : 1;
                        driver.Association.MarkConsumed(e.Message.Length);
                        e.Message.Release();
                        break;
                    case SctpEventKind.Connected:
                        clock.Start();
                        events.Add(e);
                        break;
                    default:
                        events.Add(e);
                        break;
                }
            },
            beforeFlush: null,
            timeout.Token);
        clock.Stop();

        await client.Exited.WaitAsync(TimeSpan.FromSeconds(10));
        output.WriteLine($"tsctp > us ({(unordered ? "unordered" : "ordered")}): {messages} messages, {bytes} bytes, {bytes / clock.Elapsed.TotalSeconds:N0} bytes/s; tsctp said: {client.Output}");
        Assert.True(events[^1].Kind == SctpEventKind.Closed, $"the association ended {events[^1].Kind}: {events[^1].Reason}; events {string.Join(",", events.Select(e => e.Kind))}");
        Assert.Equal(MessageCount, messages);
        Assert.Equal(TotalBytes, bytes);
        Assert.Equal(0, wrongLength);
        Assert.True(driver.Association.DroppedPackets == 0, string.Join('\n', driver.Dropped));
        Assert.Contains($"Sending of {MessageCount} messages of length {MessageLength}", client.Output, StringComparison.Ordinal);
    }
}
