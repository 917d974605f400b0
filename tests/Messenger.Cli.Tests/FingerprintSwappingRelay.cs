using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Messenger.Transport.Sdp;
using Messenger.Transport.Signaling;

namespace Messenger.Cli.Tests;

/// <summary>
/// A signaling relay that lies: for the one room it serves, it answers the offer itself and offers the first peer a
/// description of its own, so each peer's DTLS ends at a <see cref="FingerprintSwappingMiddle"/>. Trickled candidates
/// are dropped (the middle's are in its descriptions).
/// </summary>
internal sealed class FingerprintSwappingRelay : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _serving;

    public FingerprintSwappingRelay()
    {
        _listener.Start();
        _serving = ServeAsync();
    }

    public FingerprintSwappingMiddle Middle { get; } = new();

    public string Address => $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _serving;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or IOException or ObjectDisposedException or SignalingProtocolException)
        {
            // Stopped, or a peer hung up: the test is over.
        }

        await Middle.DisposeAsync();
        _stop.Dispose();
    }

    private async Task ServeAsync()
    {
        using var first = await _listener.AcceptTcpClientAsync(_stop.Token);
        var firstLines = SignalingLines.ReadAsync(first.GetStream(), _stop.Token).GetAsyncEnumerator(_stop.Token);
        var room = await JoinAsync(firstLines);
        await WriteAsync(first, new JsonObject { ["type"] = "joined", ["room"] = room, ["peers"] = 1 });
        using var second = await _listener.AcceptTcpClientAsync(_stop.Token);
        var secondLines = SignalingLines.ReadAsync(second.GetStream(), _stop.Token).GetAsyncEnumerator(_stop.Token);
        await JoinAsync(secondLines);
        await WriteAsync(second, new JsonObject { ["type"] = "joined", ["room"] = room, ["peers"] = 2 });
        await WriteAsync(first, new JsonObject { ["type"] = "peer-joined" });

        // The second to arrive offers; the first answers what the middle offers it in its place.
        var offer = await NextDescriptionAsync(secondLines, "offer");
        await WriteAsync(first, new JsonObject { ["type"] = "offer", ["sdp"] = Middle.InterceptOffer(SessionDescription.Parse(offer, SdpType.Offer)).ToString() });
        var answer = await NextDescriptionAsync(firstLines, "answer");
        await WriteAsync(second, new JsonObject { ["type"] = "answer", ["sdp"] = Middle.InterceptAnswer(SessionDescription.Parse(answer, SdpType.Answer)).ToString() });
        await Task.Delay(Timeout.Infinite, _stop.Token);
    }

    private static async Task<string> JoinAsync(IAsyncEnumerator<string> lines) =>
        await lines.MoveNextAsync() ? SignalingLines.ParseJoin(lines.Current) : throw new IOException("a peer left before joining");

    private static async Task<string> NextDescriptionAsync(IAsyncEnumerator<string> lines, string type)
    {
        while (await lines.MoveNextAsync())
        {
            var line = JsonNode.Parse(lines.Current)!;
            if ((string?)line["type"] == type)
            {
                return (string)line["sdp"]!;
            }
        }

        throw new IOException($"a peer left before its {type}");
    }

    private static async Task WriteAsync(TcpClient client, JsonObject line) =>
        await client.GetStream().WriteAsync(Encoding.UTF8.GetBytes(line.ToJsonString() + "\n"));
}
