using System.Text.Json.Nodes;

namespace Messenger.Interop.Tests;

/// <summary>
/// A real WebRTC peer under test (a process or a browser page) that speaks the signaling and channel protocol in
/// peers/README.md: JSON objects both ways for signaling, then the echo/sink/source commands over the data channel.
/// </summary>
public interface IRemotePeer : IAsyncDisposable
{
    /// <summary>For messages and figures: "aiortc", "werift", "chromium".</summary>
    string Name { get; }

    /// <summary>Sends one signaling message (offer, answer, candidate) to the peer.</summary>
    Task SendAsync(JsonObject message, CancellationToken cancellationToken);

    /// <summary>Every message the peer reports (offer, answer, candidate, open, closed, error, log), in order.</summary>
    IAsyncEnumerable<JsonObject> ReadAllAsync(CancellationToken cancellationToken);

    /// <summary>Waits for the peer to finish after the channel closed; 0 means it saw a clean close.</summary>
    Task<int> WaitForExitAsync(CancellationToken cancellationToken);
}
