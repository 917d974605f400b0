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
    /// The remote peer's stable identity (on a real connection, its certificate fingerprint); it names the
    /// conversation and survives reconnects.
    /// </summary>
    string PeerId { get; }

    /// <summary>The largest body, in bytes, that fits one frame on this session's channel.</summary>
    int MaxFrameBodySize { get; }

    /// <summary>Cancelled when the session ends (the channel closed or failed).</summary>
    CancellationToken Ended { get; }

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

    /// <summary>Opens a lane of the bulk scheduler for one producer, such as one file transfer.</summary>
    /// <param name="name">A name for logs.</param>
    /// <returns>The lane; dispose it when done.</returns>
    IBulkLane OpenBulkLane(string name);
}
