namespace Messenger.Contracts.Storage;

/// <summary>
/// Keeps chat history and file-transfer records. Implementations are thread-safe; a completed call is durable.
/// </summary>
public interface IMessageStore
{
    /// <summary>Adds a message; adding the same <see cref="StoredMessage.MessageId"/> again changes nothing.</summary>
    /// <param name="message">The message.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>True when it was added, false when a message with that id was already stored.</returns>
    ValueTask<bool> AddMessageAsync(StoredMessage message, CancellationToken cancellationToken = default);

    /// <summary>
    /// Records that the peer acknowledged a message. Unlike the other calls, the mark need only survive the process
    /// when the call completes, not a power failure: a store may let it reach the disk with its next durable write
    /// (losing it shows the message as not yet delivered; the host calls this in the chat's round trip).
    /// </summary>
    /// <param name="messageId">The message id.</param>
    /// <param name="deliveredAt">When the acknowledgement arrived.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>False when no such message is stored.</returns>
    ValueTask<bool> MarkDeliveredAsync(string messageId, DateTimeOffset deliveredAt, CancellationToken cancellationToken = default);

    /// <summary>Finds one message.</summary>
    /// <param name="messageId">The message id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The message, or null.</returns>
    ValueTask<StoredMessage?> GetMessageAsync(string messageId, CancellationToken cancellationToken = default);

    /// <summary>
    /// The newest <paramref name="limit"/> messages of a conversation sent before <paramref name="before"/>
    /// (all when null), oldest first.
    /// </summary>
    /// <param name="conversationId">The conversation.</param>
    /// <param name="limit">The most messages to return.</param>
    /// <param name="before">Only messages sent strictly before this instant, or null for the newest.</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The messages, oldest first.</returns>
    IAsyncEnumerable<StoredMessage> GetMessagesAsync(string conversationId, int limit, DateTimeOffset? before = null, CancellationToken cancellationToken = default);

    /// <summary>Every conversation that holds a message, most recent first.</summary>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The conversations.</returns>
    IAsyncEnumerable<ConversationSummary> GetConversationsAsync(CancellationToken cancellationToken = default);

    /// <summary>Inserts or replaces the record with the same <see cref="TransferRecord.TransferId"/>.</summary>
    /// <param name="record">The record.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the record is durable.</returns>
    ValueTask SaveTransferAsync(TransferRecord record, CancellationToken cancellationToken = default);

    /// <summary>Finds one transfer record.</summary>
    /// <param name="transferId">The transfer id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The record, or null.</returns>
    ValueTask<TransferRecord?> GetTransferAsync(string transferId, CancellationToken cancellationToken = default);

    /// <summary>Every transfer record, newest first.</summary>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The records.</returns>
    IAsyncEnumerable<TransferRecord> GetTransfersAsync(CancellationToken cancellationToken = default);

    /// <summary>Deletes a transfer record.</summary>
    /// <param name="transferId">The transfer id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>False when no such record existed.</returns>
    ValueTask<bool> DeleteTransferAsync(string transferId, CancellationToken cancellationToken = default);
}
