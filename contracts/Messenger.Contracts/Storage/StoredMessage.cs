namespace Messenger.Contracts.Storage;

/// <summary>Whether a message or transfer went to the peer or came from it.</summary>
public enum Direction
{
    /// <summary>Sent by this peer.</summary>
    Outgoing,

    /// <summary>Received from the remote peer.</summary>
    Incoming,
}

/// <summary>A chat message as kept in the message store.</summary>
public sealed record StoredMessage
{
    /// <summary>The message id, unique across conversations (the sender chooses it).</summary>
    public required string MessageId { get; init; }

    /// <summary>The conversation: the remote peer's id.</summary>
    public required string ConversationId { get; init; }

    /// <summary>Who sent it.</summary>
    public required Direction Direction { get; init; }

    /// <summary>When the sender sent it, by the sender's clock.</summary>
    public required DateTimeOffset SentAt { get; init; }

    /// <summary>The text.</summary>
    public required string Text { get; init; }

    /// <summary>When the peer acknowledged it (outgoing messages only), or null.</summary>
    public DateTimeOffset? DeliveredAt { get; init; }

    /// <summary>The file transfer attached to this message, or null.</summary>
    public string? AttachmentTransferId { get; init; }
}

/// <summary>One conversation in the store, for listing.</summary>
/// <param name="ConversationId">The remote peer's id.</param>
/// <param name="MessageCount">How many messages it holds.</param>
/// <param name="LastMessageAt">When its newest message was sent, or null when it has none.</param>
public sealed record ConversationSummary(string ConversationId, long MessageCount, DateTimeOffset? LastMessageAt);
