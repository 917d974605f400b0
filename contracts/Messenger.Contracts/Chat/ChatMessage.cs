using Messenger.Contracts.Storage;

namespace Messenger.Contracts.Chat;

/// <summary>A chat message as the chat service reports it.</summary>
/// <param name="MessageId">The id the sender chose.</param>
/// <param name="Direction">Sent or received.</param>
/// <param name="SentAt">When the sender sent it, by the sender's clock.</param>
/// <param name="Text">The text.</param>
/// <param name="AttachmentTransferId">The file transfer attached to it, or null.</param>
public sealed record ChatMessage(string MessageId, Direction Direction, DateTimeOffset SentAt, string Text, string? AttachmentTransferId = null);

/// <summary>Something happened in the chat.</summary>
public abstract record ChatEvent;

/// <summary>A message arrived from the peer.</summary>
/// <param name="Message">The message.</param>
public sealed record ChatMessageReceived(ChatMessage Message) : ChatEvent;

/// <summary>The peer acknowledged one of this peer's messages.</summary>
/// <param name="MessageId">The message id.</param>
/// <param name="DeliveredAt">When the acknowledgement arrived, by this peer's clock.</param>
/// <param name="RoundTrip">The time from sending to the acknowledgement.</param>
public sealed record ChatMessageDelivered(string MessageId, DateTimeOffset DeliveredAt, TimeSpan RoundTrip) : ChatEvent;

/// <summary>
/// The peer refused one of this peer's messages without storing it (since contracts 1.5): it came faster than the
/// peer accepts chat, or past what the peer stores per conversation in an interval. Send it again later.
/// </summary>
/// <param name="MessageId">The message id.</param>
/// <param name="Reason">The peer's reason, as it sent it.</param>
public sealed record ChatMessageRefused(string MessageId, string Reason) : ChatEvent;
