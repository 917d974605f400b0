using MessagePack;
using Messenger.Contracts.Framing;

namespace Messenger.Host.Chat;

/// <summary>The frame kinds the host owns. Append-only; a number is never reused.</summary>
public static class HostFrameKinds
{
    /// <summary>A chat message: <see cref="ChatMessageFrame"/>.</summary>
    public static readonly FrameKind ChatMessage = new(1);

    /// <summary>The receiver's acknowledgement of a chat message: <see cref="ChatAckFrame"/>.</summary>
    public static readonly FrameKind ChatAck = new(2);

    /// <summary>The session is being closed by the sender, and why: <see cref="SessionCloseFrame"/>. Handled by the session itself.</summary>
    public static readonly FrameKind SessionClose = new(3);

    /// <summary>The receiver refused a chat message without storing it (a limit): <see cref="ChatRefusedFrame"/>.</summary>
    public static readonly FrameKind ChatRefused = new(4);
}

/// <summary>The body of a session-close frame: the sender closes the channel right after it.</summary>
[MessagePackObject]
public sealed class SessionCloseFrame
{
    /// <summary>Why, for the other user (at most 500 characters are kept).</summary>
    [Key(0)]
    public string Reason { get; set; } = "";
}

/// <summary>The body of a chat refusal: the message was not stored; the sender may try again later.</summary>
[MessagePackObject]
public sealed class ChatRefusedFrame
{
    /// <summary>The refused message's id.</summary>
    [Key(0)]
    public string Id { get; set; } = "";

    /// <summary>Why (at most 500 characters are kept).</summary>
    [Key(1)]
    public string Reason { get; set; } = "";
}

/// <summary>The body of a chat message frame. Keys are append-only.</summary>
[MessagePackObject]
public sealed class ChatMessageFrame
{
    /// <summary>The message id the sender chose (at most 64 characters).</summary>
    [Key(0)]
    public string Id { get; set; } = "";

    /// <summary>When the sender sent it, Unix milliseconds by the sender's clock.</summary>
    [Key(1)]
    public long SentAtUnixMilliseconds { get; set; }

    /// <summary>The text.</summary>
    [Key(2)]
    public string Text { get; set; } = "";

    /// <summary>The file transfer attached to the message, or null.</summary>
    [Key(3)]
    public string? AttachmentTransferId { get; set; }
}

/// <summary>The body of a chat acknowledgement frame: the receiver got and stored the message.</summary>
[MessagePackObject]
public sealed class ChatAckFrame
{
    /// <summary>The acknowledged message's id.</summary>
    [Key(0)]
    public string Id { get; set; } = "";
}
