using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Messenger.TestSupport;

namespace Messenger.Benchmarks;

/// <summary>
/// Stands between two <c>messenger connect</c> processes and their signaling relay, passing every line on and
/// rewriting the host candidates in descriptions and trickle lines (as <see cref="TwoProcessBenchmark.ThroughRelay"/>
/// does) so the peers reach each other only through an <see cref="ImpairedUdpRelay"/>. The first peer to connect is
/// the relay's A.
/// </summary>
internal sealed class CandidateRewritingProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _upstream;
    private readonly ImpairedUdpRelay _relay;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _connections = [];
    private readonly Task _accepting;

    public CandidateRewritingProxy(IPEndPoint upstream, ImpairedUdpRelay relay)
    {
        _upstream = upstream;
        _relay = relay;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>Where the peers' <c>--relay</c> points.</summary>
    public string Address => $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        lock (_connections)
        {
            foreach (var connection in _connections)
            {
                connection.Dispose();
            }
        }

        try
        {
            await _accepting;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        for (var peer = 0; !_stop.IsCancellationRequested; peer++)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            var upstream = new TcpClient();
            await upstream.ConnectAsync(_upstream, _stop.Token);
            lock (_connections)
            {
                _connections.Add(client);
                _connections.Add(upstream);
            }

            var isA = peer == 0;
            _ = PumpAsync(client.GetStream(), upstream.GetStream(), line => JsonNode.Parse(line) is JsonObject message
                ? TwoProcessBenchmark.ThroughRelay(message, _relay, fromSender: isA).ToJsonString()
                : line);
            _ = PumpAsync(upstream.GetStream(), client.GetStream(), line => line);
        }
    }

    private async Task PumpAsync(Stream from, Stream to, Func<string, string> rewrite)
    {
        try
        {
            using var reader = new StreamReader(from, new UTF8Encoding(false), leaveOpen: true);
            while (await reader.ReadLineAsync(_stop.Token) is { } line)
            {
                await to.WriteAsync(Encoding.UTF8.GetBytes(rewrite(line) + "\n"), _stop.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException or System.Text.Json.JsonException)
        {
        }
        finally
        {
            to.Dispose();
        }
    }
}
