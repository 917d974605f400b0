namespace Messenger.Contracts.Chat;

/// <summary>The host's text chat with the peer. Messages are stored when a message store is loaded.</summary>
public interface IChatService
{
    /// <summary>The longest message text, in UTF-8 bytes, the chat accepts.</summary>
    int MaxTextBytes { get; }

    /// <summary>Raised for every chat event, on no particular thread.</summary>
    event EventHandler<ChatEvent>? ChatChanged;

    /// <summary>Sends a message to the peer. It is acknowledged later by a <see cref="ChatMessageDelivered"/>.</summary>
    /// <param name="text">The text (may be empty only with an attachment), at most <see cref="MaxTextBytes"/> UTF-8 bytes.</param>
    /// <param name="attachmentTransferId">A file transfer attached to the message, or null.</param>
    /// <param name="cancellationToken">Cancels the send.</param>
    /// <returns>The sent message.</returns>
    /// <exception cref="InvalidOperationException">No session with the peer is open.</exception>
    ValueTask<ChatMessage> SendAsync(string text, string? attachmentTransferId = null, CancellationToken cancellationToken = default);

    /// <summary>Every chat event from the first <c>MoveNextAsync</c> on, until cancelled.</summary>
    /// <param name="cancellationToken">Ends the stream.</param>
    /// <returns>The events, in order.</returns>
    IAsyncEnumerable<ChatEvent> WatchAsync(CancellationToken cancellationToken = default);
}
