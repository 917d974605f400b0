namespace Messenger.Contracts.Framing;

/// <summary>
/// One producer's share of the bulk lane. The scheduler takes frames from all open lanes in turn, so
/// several transfers share the channel fairly. Dispose the lane when the producer is done.
/// </summary>
public interface IBulkLane : IAsyncDisposable
{
    /// <summary>The name given when the lane was opened, for logs.</summary>
    string Name { get; }

    /// <summary>
    /// Queues a bulk frame and completes when the scheduler has written it to the channel; awaiting each send is
    /// the producer's backpressure. At most one send per lane may be outstanding.
    /// </summary>
    /// <param name="kind">The frame kind.</param>
    /// <param name="body">The body: exactly one MessagePack object. The bytes are copied before the task completes.</param>
    /// <param name="cancellationToken">Withdraws the frame if it has not been written yet.</param>
    /// <returns>A task that completes once the frame is on the channel.</returns>
    /// <exception cref="Channels.DataChannelClosedException">The session has ended.</exception>
    ValueTask SendAsync(FrameKind kind, ReadOnlyMemory<byte> body, CancellationToken cancellationToken = default);
}
