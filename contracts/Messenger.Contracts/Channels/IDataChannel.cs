namespace Messenger.Contracts.Channels;

/// <summary>
/// A message-oriented, reliable, ordered channel between two peers: the shape of a WebRTC data channel.
/// The host's framing runs over it; the real transport and the in-memory test pair implement it.
/// </summary>
/// <remarks>
/// Sending never blocks: a sent message is queued and <see cref="BufferedAmount"/> grows by its size until
/// the transport has handed it to the network. Producers that send a lot await
/// <see cref="WaitForBufferedAmountLowAsync"/> between sends, which is the backpressure signal.
/// </remarks>
public interface IDataChannel : IAsyncDisposable
{
    /// <summary>The channel label agreed when it was opened.</summary>
    string Label { get; }

    /// <summary>The current state.</summary>
    DataChannelState State { get; }

    /// <summary>The largest message, in bytes, the remote peer accepts.</summary>
    int MaxMessageSize { get; }

    /// <summary>Bytes queued by <see cref="Send"/> and <see cref="SendText"/> that the transport has not yet sent.</summary>
    long BufferedAmount { get; }

    /// <summary>
    /// The level at or below which <see cref="BufferedAmount"/> counts as low; see
    /// <see cref="WaitForBufferedAmountLowAsync"/>. Zero by default.
    /// </summary>
    long BufferedAmountLowThreshold { get; set; }

    /// <summary>Raised after <see cref="State"/> changes.</summary>
    event EventHandler<DataChannelState>? StateChanged;

    /// <summary>Queues a binary message. The bytes are copied before the call returns.</summary>
    /// <param name="data">The message; at most <see cref="MaxMessageSize"/> bytes.</param>
    /// <exception cref="DataChannelClosedException">The channel is not open.</exception>
    /// <exception cref="ArgumentException">The message is larger than <see cref="MaxMessageSize"/>.</exception>
    void Send(ReadOnlySpan<byte> data);

    /// <summary>
    /// Queues a binary message whose bytes are the first <paramref name="length"/> of <paramref name="rentedArray"/>,
    /// an array rented from <see cref="System.Buffers.ArrayPool{T}.Shared"/>: the channel takes the array (no copy)
    /// and returns it to the pool once it no longer needs it, also when this call throws. Contracts 1.2; the default
    /// copies through <see cref="Send"/>.
    /// </summary>
    /// <param name="rentedArray">The pooled array; the caller must not touch it after the call.</param>
    /// <param name="length">The message length; at most <see cref="MaxMessageSize"/>.</param>
    /// <exception cref="DataChannelClosedException">The channel is not open.</exception>
    /// <exception cref="ArgumentException">The message is larger than <see cref="MaxMessageSize"/>.</exception>
    void SendPooled(byte[] rentedArray, int length)
    {
        ArgumentNullException.ThrowIfNull(rentedArray);
        try
        {
            Send(rentedArray.AsSpan(0, length));
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rentedArray);
        }
    }

    /// <summary>Queues a UTF-8 text message.</summary>
    /// <param name="text">The message; its UTF-8 form must fit <see cref="MaxMessageSize"/>.</param>
    /// <exception cref="DataChannelClosedException">The channel is not open.</exception>
    /// <exception cref="ArgumentException">The message is larger than <see cref="MaxMessageSize"/>.</exception>
    void SendText(string text);

    /// <summary>
    /// Completes when <see cref="BufferedAmount"/> is at or below <see cref="BufferedAmountLowThreshold"/>
    /// (at once if it already is), or when the channel closes.
    /// </summary>
    /// <param name="cancellationToken">Stops the wait.</param>
    /// <returns>A task that completes without polling when the buffer has drained.</returns>
    ValueTask WaitForBufferedAmountLowAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// The received messages, in order. The stream ends when the channel closes. Only one reader is supported.
    /// </summary>
    /// <param name="cancellationToken">Stops the enumeration.</param>
    /// <returns>The messages as they arrive.</returns>
    IAsyncEnumerable<DataChannelMessage> ReceiveAllAsync(CancellationToken cancellationToken = default);

    /// <summary>Closes the channel: queued messages are still delivered, then both sides see it closed.</summary>
    /// <param name="cancellationToken">Stops waiting for the close to finish.</param>
    /// <returns>A task that completes when the channel is closed.</returns>
    ValueTask CloseAsync(CancellationToken cancellationToken = default);
}
