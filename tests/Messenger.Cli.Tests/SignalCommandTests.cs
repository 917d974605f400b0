using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Messenger.TestSupport;
using Messenger.Transport.Signaling;

namespace Messenger.Cli.Tests;

public class SignalCommandTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Signal_RelaysLinesBetweenTwoPeersOfARoom()
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { MessengerProcess.Dll, "signal", "--port", "0" })
        {
            start.ArgumentList.Add(arg);
        }

        using var relay = Process.Start(start)!;
        try
        {
            var banner = await relay.StandardOutput.ReadLineAsync().WaitAsync(Wait);
            Assert.NotNull(banner);
            Assert.StartsWith("messenger signal: listening on 127.0.0.1:", banner, StringComparison.Ordinal);
            var endPoint = IPEndPoint.Parse(banner["messenger signal: listening on ".Length..].Split(' ')[0]);

            using var alice = new TcpClient();
            using var bob = new TcpClient();
            await alice.ConnectAsync(endPoint).WaitAsync(Wait);
            await bob.ConnectAsync(endPoint).WaitAsync(Wait);
            await using var aliceLines = SignalingLines.ReadAsync(alice.GetStream(), CancellationToken.None).GetAsyncEnumerator();
            await using var bobLines = SignalingLines.ReadAsync(bob.GetStream(), CancellationToken.None).GetAsyncEnumerator();
            await WriteAsync(alice, """{"type":"join","room":"R"}""");
            Assert.Equal("joined", (string?)(await NextAsync(aliceLines))["type"]);
            await WriteAsync(bob, """{"type":"join","room":"R"}""");
            Assert.Equal("joined", (string?)(await NextAsync(bobLines))["type"]);

            await WriteAsync(alice, """{"type":"offer","blob":"o..."}""");

            Assert.Equal("o...", (string?)(await NextAsync(bobLines))["blob"]);
        }
        finally
        {
            relay.Kill(entireProcessTree: true);
            await relay.WaitForExitAsync().WaitAsync(Wait);
        }
    }

    [Fact]
    public async Task Signal_BadBindAddress_OneLineAndExitTwo()
    {
        var (exit, output) = await MessengerProcess.RunAsync(RepoPaths.RepoRoot, "signal", "--bind", "not-an-ip");

        Assert.Equal(2, exit);
        Assert.Equal("messenger: --bind: 'not-an-ip' is not an IP address.", output.Trim());
    }

    private static async Task WriteAsync(TcpClient client, string line) =>
        await client.GetStream().WriteAsync(Encoding.UTF8.GetBytes(line + "\n")).AsTask().WaitAsync(Wait);

    private static async Task<JsonObject> NextAsync(IAsyncEnumerator<string> lines)
    {
        Assert.True(await lines.MoveNextAsync().AsTask().WaitAsync(Wait));
        return JsonNode.Parse(lines.Current)!.AsObject();
    }
}
