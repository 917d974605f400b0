namespace Messenger.Contracts.Framing;

/// <summary>
/// One live connection to the peer: a data channel with the host's framing and send scheduler on it.
/// Plugins receive it in <see cref="IFrameHandler.HandleFrameAsync"/> and <see cref="IPeerSessionObserver"/>.
/// </summary>
public interface IPeerSession
{
    /// <summary>A locally unique id of this session (a new one after each reconnect).</summary>
    string SessionId { get; }

    /// <summary>
    /// The remote peer's stable identity; it names the conversation and survives reconnects. On a real connection it is
    /// the SHA-256 fingerprint of the certificate the peer proved in the DTLS handshake, as 64 lowercase hex digits
    /// (the messenger command keeps one certificate per profile, so a peer's id is the same every time). Everything
    /// filed for a peer (history, transfers, resume) is filed under this id, never under a name a user typed.
    /// </summary>
    string PeerId { get; }

    /// <summary>The largest body, in bytes, that fits one frame on this session's channel.</summary>
    int MaxFrameBodySize { get; }

    /// <summary>Cancelled when the session ends (the channel closed or failed).</summary>
    CancellationToken Ended { get; }

    /// <summary>
    /// The rate, in bytes per second, at which this session's channel has been draining bulk frames (measured by the
    /// send scheduler while bulk was waiting, a moving average); 0 before any bulk has been sent. A chat frame waits
    /// behind the rest of the bulk frame being sent, so a bulk producer can size its frames to a few milliseconds of
    /// this rate. Since contracts 1.3; sessions that do not measure it report 0.
    /// </summary>
    long BulkBytesPerSecond => 0;

    /// <summary>
    /// Queues an interactive frame (chat, control): it goes out before any bulk frame still queued.
    /// Completes when the frame is written to the channel.
    /// </summary>
    /// <param name="kind">The frame kind.</param>
    /// <param name="body">The body: exactly one MessagePack object, at most <see cref="MaxFrameBodySize"/> bytes.</param>
    /// <param name="cancellationToken">Withdraws the frame if it has not been written yet.</param>
    /// <returns>A task that completes once the frame is on the channel.</returns>
    /// <exception cref="Channels.DataChannelClosedException">The session has ended.</exception>
    ValueTask SendAsync(FrameKind kind, ReadOnlyMemory<byte> body, CancellationToken cancellationToken = default);

    /// <summary>
    /// Ends the session because the peer broke a limit (say, thousands of refused offers): the peer is told
    /// <paramref name="reason"/> before the channel closes, and <see cref="Ended"/> fires on both sides. For a peer
    /// past a hard bound, not for an ordinary refusal (that is a reply frame). Since contracts 1.5; sessions that
    /// cannot close throw <see cref="NotSupportedException"/>.
    /// </summary>
    /// <param name="reason">One sentence, shown to both users.</param>
    /// <returns>A task that completes when the session has ended.</returns>
    ValueTask CloseAsync(string reason) => throw new NotSupportedException("This session cannot be closed by a plugin.");

    /// <summary>Opens a lane of the bulk scheduler for one producer, such as one file transfer.</summary>
    /// <param name="name">A name for logs.</param>
    /// <returns>The lane; dispose it when done.</returns>
    IBulkLane OpenBulkLane(string name);
}
