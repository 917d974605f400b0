using MessagePack;

namespace Messenger.Plugins.FileTransfer.Protocol;

/// <summary>The body of an offer frame: what the receiver needs to decide and to check the file.</summary>
[MessagePackObject]
public sealed class OfferFrame
{
    /// <summary>The transfer id chosen by the sender: 1–64 of <c>[A-Za-z0-9_-]</c>.</summary>
    [Key(0)]
    public string TransferId { get; set; } = "";

    /// <summary>The file name as the sender names it (the receiver sanitises it).</summary>
    [Key(1)]
    public string FileName { get; set; } = "";

    /// <summary>The size in bytes.</summary>
    [Key(2)]
    public long Size { get; set; }

    /// <summary>The media type.</summary>
    [Key(3)]
    public string MediaType { get; set; } = "";

    /// <summary>The payload bytes of every chunk but the last.</summary>
    [Key(4)]
    public int ChunkSize { get; set; }

    /// <summary>
    /// The SHA-256 of the whole file (32 bytes) when the sender knows it before sending; null when it streams the file
    /// and sends the digest in <see cref="EndFrame.Sha256"/> (what this version's senders do).
    /// </summary>
    [Key(5)]
    public byte[]? Sha256 { get; set; }

    /// <summary>A thumbnail, or null.</summary>
    [Key(6)]
    public PreviewFrame? Preview { get; set; }

    /// <summary>A caption, or null.</summary>
    [Key(7)]
    public string? Caption { get; set; }

    /// <summary>The chat message the file is attached to, or null.</summary>
    [Key(8)]
    public string? ChatMessageId { get; set; }
}

/// <summary>A thumbnail carried in an offer.</summary>
[MessagePackObject]
public sealed class PreviewFrame
{
    /// <summary>The thumbnail's encoded bytes.</summary>
    [Key(0)]
    public byte[] Thumbnail { get; set; } = [];

    /// <summary>The thumbnail's media type.</summary>
    [Key(1)]
    public string ThumbnailMediaType { get; set; } = "";

    /// <summary>Thumbnail width in pixels.</summary>
    [Key(2)]
    public int Width { get; set; }

    /// <summary>Thumbnail height in pixels.</summary>
    [Key(3)]
    public int Height { get; set; }

    /// <summary>The source's media type.</summary>
    [Key(4)]
    public string SourceMediaType { get; set; } = "";

    /// <summary>The source's width, or null.</summary>
    [Key(5)]
    public int? SourceWidth { get; set; }

    /// <summary>The source's height, or null.</summary>
    [Key(6)]
    public int? SourceHeight { get; set; }

    /// <summary>The source's duration in milliseconds, or null.</summary>
    [Key(7)]
    public long? DurationMilliseconds { get; set; }
}

/// <summary>The body of an accept frame.</summary>
[MessagePackObject]
public sealed class AcceptFrame
{
    /// <summary>The transfer id.</summary>
    [Key(0)]
    public string TransferId { get; set; } = "";

    /// <summary>The receiver already holds this verified prefix: send from here (a multiple of the chunk size, or the size).</summary>
    [Key(1)]
    public long ResumeOffset { get; set; }

    /// <summary>
    /// The SHA-256 of the first <see cref="ResumeOffset"/> bytes the receiver holds, so the sender can prove its file
    /// has the same prefix before it resumes; null from offset 0, for a resend after a gap, or from older receivers.
    /// </summary>
    [Key(2)]
    public byte[]? PrefixSha256 { get; set; }

    /// <summary>
    /// The receiver's window: the sender keeps at most this many bytes sent beyond <see cref="AckFrame.ReceivedBytes"/>.
    /// Null (older receivers) means no window: the data channel's own backpressure only.
    /// </summary>
    [Key(3)]
    public long? WindowBytes { get; set; }
}

/// <summary>The body of a reject frame.</summary>
[MessagePackObject]
public sealed class RejectFrame
{
    /// <summary>The transfer id.</summary>
    [Key(0)]
    public string TransferId { get; set; } = "";

    /// <summary>Why, for the sender's user, or null.</summary>
    [Key(1)]
    public string? Reason { get; set; }
}

/// <summary>The body of an ack frame.</summary>
[MessagePackObject]
public sealed class AckFrame
{
    /// <summary>The transfer id.</summary>
    [Key(0)]
    public string TransferId { get; set; } = "";

    /// <summary>The bytes stored durably and verified chunk by chunk.</summary>
    [Key(1)]
    public long VerifiedBytes { get; set; }

    /// <summary>Bytes the receiver has taken off the channel and written (not yet durable); opens the sender's window.</summary>
    [Key(2)]
    public long? ReceivedBytes { get; set; }
}

/// <summary>The body of an end frame.</summary>
[MessagePackObject]
public sealed class EndFrame
{
    /// <summary>The transfer id.</summary>
    [Key(0)]
    public string TransferId { get; set; } = "";

    /// <summary>The end offset of the last chunk sent (the file size when all went out).</summary>
    [Key(1)]
    public long BytesSent { get; set; }

    /// <summary>The SHA-256 of the whole file, computed while it was read for sending; null from older senders.</summary>
    [Key(2)]
    public byte[]? Sha256 { get; set; }
}

/// <summary>The body of a verify frame.</summary>
[MessagePackObject]
public sealed class VerifyFrame
{
    /// <summary>The transfer id.</summary>
    [Key(0)]
    public string TransferId { get; set; } = "";

    /// <summary>True when size and SHA-256 of the stored file matched the offer.</summary>
    [Key(1)]
    public bool Verified { get; set; }

    /// <summary>Why verification failed, or null.</summary>
    [Key(2)]
    public string? Reason { get; set; }
}

/// <summary>The body of a cancel frame.</summary>
[MessagePackObject]
public sealed class CancelFrame
{
    /// <summary>The transfer id.</summary>
    [Key(0)]
    public string TransferId { get; set; } = "";

    /// <summary>Why, or null.</summary>
    [Key(1)]
    public string? Reason { get; set; }
}

/// <summary>The body of a fail frame.</summary>
[MessagePackObject]
public sealed class FailFrame
{
    /// <summary>The transfer id.</summary>
    [Key(0)]
    public string TransferId { get; set; } = "";

    /// <summary>What failed, for the peer's user.</summary>
    [Key(1)]
    public string Reason { get; set; } = "";
}
