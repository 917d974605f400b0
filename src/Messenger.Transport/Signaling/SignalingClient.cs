using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Messenger.Transport.Ice;
using Messenger.Transport.Sdp;

namespace Messenger.Transport.Signaling;

/// <summary>
/// A peer's side of the <see cref="SignalingRelay"/>: joins a room, then swaps the offer, the answer and trickled
/// candidates with the other peer as JSON lines. Roles are fixed by the relay's join order: the peer that finds the
/// other already there (<c>"peers":2</c>) offers, the first one waits for that offer and answers, so there is no glare.
/// </summary>
public sealed class SignalingClient : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly Stream _stream;
    private readonly IAsyncEnumerator<string> _lines;
    private const int MaxEarlyLines = 64;

    private readonly SemaphoreSlim _writing = new(1, 1);
    private readonly Queue<JsonObject> _early;

    private SignalingClient(TcpClient tcp, Stream stream, IAsyncEnumerator<string> lines, string room, bool isOfferer, Queue<JsonObject> early)
    {
        _early = early;
        _tcp = tcp;
        _stream = stream;
        _lines = lines;
        Room = room;
        IsOfferer = isOfferer;
    }

    /// <summary>The room joined.</summary>
    public string Room { get; }

    /// <summary>True when the other peer was already in the room: this peer sends the offer.</summary>
    public bool IsOfferer { get; }

    /// <summary>Connects to the relay and joins the room.</summary>
    /// <param name="host">The relay's host name or address.</param>
    /// <param name="port">The relay's TCP port.</param>
    /// <param name="room">The room: 1 to 64 printable characters, shared by the two peers out of band.</param>
    /// <param name="cancellationToken">Stops connecting.</param>
    /// <returns>The joined client.</returns>
    /// <exception cref="SignalingException">The relay cannot be reached, refuses the join, or breaks the protocol.</exception>
    public static async Task<SignalingClient> JoinAsync(string host, int port, string room, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(host);
        ArgumentNullException.ThrowIfNull(room);
        try
        {
            SignalingLines.ParseJoin(JoinLine(room));
        }
        catch (SignalingProtocolException ex)
        {
            throw new SignalingException($"room '{room}': {ex.Message}", ex);
        }

        var tcp = new TcpClient { NoDelay = true };
        try
        {
            await tcp.ConnectAsync(host, port, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException ex)
        {
            tcp.Dispose();
            throw new SignalingException($"cannot reach the signaling relay at {host}:{port}: {ex.Message}", ex);
        }

        var stream = tcp.GetStream();

        // Reads are cancelled by closing the socket, so a short join timeout does not bind later reads.
        var lines = SignalingLines.ReadAsync(stream, CancellationToken.None).GetAsyncEnumerator(CancellationToken.None);
        var registration = cancellationToken.Register(static s => ((TcpClient)s!).Dispose(), tcp);
        try
        {
            await WriteLineAsync(stream, JoinLine(room), cancellationToken).ConfigureAwait(false);
            // When both peers join at once, the relay can forward the other's lines (peer-joined, even its offer)
            // before confirming our join: keep them, in order, for ReceiveAsync.
            var early = new Queue<JsonObject>();
            JsonObject reply;
            while (true)
            {
                reply = await ReadObjectAsync(lines).ConfigureAwait(false)
                    ?? throw new SignalingException("the signaling relay closed the connection before confirming the join");
                if (TypeOf(reply) is "joined" or "error")
                {
                    break;
                }

                if (early.Count == MaxEarlyLines)
                {
                    throw new SignalingException($"the signaling relay sent {MaxEarlyLines} lines without confirming the join");
                }

                early.Enqueue(reply);
            }

            switch (TypeOf(reply))
            {
                case "joined" when reply["peers"] is JsonValue peers && peers.GetValueKind() == JsonValueKind.Number
                        && peers.TryGetValue<int>(out var count) && count is 1 or 2:
                    return new SignalingClient(tcp, stream, lines, room, isOfferer: count == 2, early);
                case "error":
                    throw new SignalingException($"the signaling relay refused the join: {MessageOf(reply)}");
                default:
                    throw new SignalingException("the signaling relay answered the join with a malformed 'joined' line");
            }
        }
        catch (Exception ex) when (cancellationToken.IsCancellationRequested && ex is SignalingException or IOException or ObjectDisposedException)
        {
            await DisposeQuietlyAsync(lines).ConfigureAwait(false);
            tcp.Dispose();
            throw new OperationCanceledException(cancellationToken);
        }
        catch
        {
            await DisposeQuietlyAsync(lines).ConfigureAwait(false);
            tcp.Dispose();
            throw;
        }
        finally
        {
            await registration.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Sends our offer or answer.</summary>
    /// <param name="description">The description, candidates inline.</param>
    /// <param name="cancellationToken">Stops sending.</param>
    /// <returns>A task that completes when the line is written.</returns>
    public Task SendDescriptionAsync(SessionDescription description, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(description);
        var type = description.Type == SdpType.Offer ? "offer" : "answer";
        return SendAsync(new JsonObject { ["type"] = type, ["sdp"] = description.ToString() }, cancellationToken);
    }

    /// <summary>Trickles a local candidate; null says there are no more (RFC 8838 end-of-candidates).</summary>
    /// <param name="candidate">The candidate or null.</param>
    /// <param name="cancellationToken">Stops sending.</param>
    /// <returns>A task that completes when the line is written.</returns>
    public Task SendCandidateAsync(IceCandidate? candidate, CancellationToken cancellationToken) =>
        SendAsync(new JsonObject { ["type"] = "candidate", ["candidate"] = candidate?.ToString() }, cancellationToken);

    /// <summary>The next message from the other peer or the relay; null when the relay closed the connection.</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The message.</returns>
    /// <exception cref="SignalingException">The relay sent an error, or a line that breaks the protocol.</exception>
    public async Task<SignalingMessage?> ReceiveAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var registration = cancellationToken.Register(static s => ((TcpClient)s!).Dispose(), _tcp);
        JsonObject? line;
        try
        {
            line = _early.TryDequeue(out var early) ? early : await ReadObjectAsync(_lines).ConfigureAwait(false);
        }
        catch (Exception ex) when (cancellationToken.IsCancellationRequested && ex is IOException or ObjectDisposedException or SignalingException)
        {
            throw new OperationCanceledException(cancellationToken);
        }

        if (line is null)
        {
            // Cancelling closes the connection, which the reader may see as a plain end of stream.
            cancellationToken.ThrowIfCancellationRequested();
            return null;
        }

        var type = TypeOf(line);
        try
        {
            return type switch
            {
                "offer" => new SignalingMessage.Description(SessionDescription.Parse(StringOf(line, "sdp"), SdpType.Offer)),
                "answer" => new SignalingMessage.Description(SessionDescription.Parse(StringOf(line, "sdp"), SdpType.Answer)),
                "candidate" => new SignalingMessage.Candidate(line["candidate"] is null ? null : IceCandidate.Parse(StringOf(line, "candidate"))),
                "peer-joined" => new SignalingMessage.PeerJoined(),
                "peer-left" => new SignalingMessage.PeerLeft(),
                "error" => throw new SignalingException($"the signaling relay reported: {MessageOf(line)}"),

                // Forward compatible: a newer peer may send kinds we do not know.
                _ => new SignalingMessage.Unknown(type),
            };
        }
        catch (FormatException ex)
        {
            throw new SignalingException($"the other peer sent an unusable '{type}': {ex.Message}", ex);
        }
    }

    /// <summary>Leaves the room (the other peer sees peer-left) and closes the connection.</summary>
    /// <returns>A task that completes when closed.</returns>
    public async ValueTask DisposeAsync()
    {
        _tcp.Dispose();
        await DisposeQuietlyAsync(_lines).ConfigureAwait(false);
        _writing.Dispose();
    }

    private static async ValueTask DisposeQuietlyAsync(IAsyncEnumerator<string> lines)
    {
        try
        {
            await lines.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException)
        {
            // Closing anyway.
        }
    }

    private async Task SendAsync(JsonObject message, CancellationToken cancellationToken)
    {
        var line = message.ToJsonString();
        if (Encoding.UTF8.GetByteCount(line) > SignalingRelay.MaxLineBytes)
        {
            throw new SignalingException($"a signaling message is longer than the relay's {SignalingRelay.MaxLineBytes}-byte line limit");
        }

        await _writing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await WriteLineAsync(_stream, line, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            throw new SignalingException($"the connection to the signaling relay was lost: {ex.Message}", ex);
        }
        finally
        {
            _writing.Release();
        }
    }

    private static string JoinLine(string room) => new JsonObject { ["type"] = "join", ["room"] = room }.ToJsonString();

    private static async Task WriteLineAsync(Stream stream, string line, CancellationToken cancellationToken) =>
        await stream.WriteAsync(Encoding.UTF8.GetBytes(line + "\n"), cancellationToken).ConfigureAwait(false);

    private static async Task<JsonObject?> ReadObjectAsync(IAsyncEnumerator<string> lines)
    {
        try
        {
            return await lines.MoveNextAsync().ConfigureAwait(false) ? SignalingLines.ParseObject(lines.Current) : null;
        }
        catch (SignalingProtocolException ex)
        {
            throw new SignalingException($"the signaling relay broke the protocol: {ex.Message}", ex);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            throw new SignalingException($"the connection to the signaling relay was lost: {ex.Message}", ex);
        }
    }

    private static string TypeOf(JsonObject line) =>
        line["type"]?.GetValueKind() == JsonValueKind.String ? (string)line["type"]! : "(no type)";

    private static string MessageOf(JsonObject line) =>
        line["message"]?.GetValueKind() == JsonValueKind.String ? (string)line["message"]! : "(no message)";

    private static string StringOf(JsonObject line, string name) =>
        line[name]?.GetValueKind() == JsonValueKind.String ? (string)line[name]! : throw new FormatException($"\"{name}\" must be a string");
}

/// <summary>What the other peer (or the relay) said.</summary>
public abstract record SignalingMessage
{
    /// <summary>The other peer's offer or answer.</summary>
    /// <param name="Value">The parsed description.</param>
    public sealed record Description(SessionDescription Value) : SignalingMessage;

    /// <summary>A trickled candidate of the other peer; null is end-of-candidates.</summary>
    /// <param name="Value">The candidate or null.</param>
    public sealed record Candidate(IceCandidate? Value) : SignalingMessage;

    /// <summary>The other peer joined the room.</summary>
    public sealed record PeerJoined : SignalingMessage;

    /// <summary>The other peer left the room.</summary>
    public sealed record PeerLeft : SignalingMessage;

    /// <summary>A kind this version does not know; ignore it.</summary>
    /// <param name="Type">The line's type.</param>
    public sealed record Unknown(string Type) : SignalingMessage;
}

/// <summary>Signaling failed: the relay is unreachable, refused us, or a line broke the protocol. The message says which.</summary>
public sealed class SignalingException : IOException
{
    /// <summary>Creates the exception with a default message.</summary>
    public SignalingException()
        : base("Signaling failed.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public SignalingException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public SignalingException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
