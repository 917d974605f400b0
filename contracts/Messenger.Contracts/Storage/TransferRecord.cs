namespace Messenger.Contracts.Storage;

/// <summary>Where a file transfer stands.</summary>
public enum TransferState
{
    /// <summary>Offered, waiting for the receiver to accept or reject.</summary>
    Offered,

    /// <summary>Chunks are flowing.</summary>
    InProgress,

    /// <summary>Interrupted (the connection dropped or a process stopped); can resume from the verified prefix.</summary>
    Paused,

    /// <summary>All bytes arrived and the whole-file SHA-256 matched.</summary>
    Completed,

    /// <summary>Failed for a reason given in the record; not resumable.</summary>
    Failed,

    /// <summary>Cancelled by one side.</summary>
    Cancelled,

    /// <summary>The receiver declined the offer.</summary>
    Rejected,
}

/// <summary>The durable record of a file transfer, enough to show it and to resume it after a restart.</summary>
public sealed record TransferRecord
{
    /// <summary>The transfer id, chosen by the sender.</summary>
    public required string TransferId { get; init; }

    /// <summary>
    /// The conversation the record is filed under: the remote peer's id for records with a <see cref="PeerId"/>; in a
    /// record from before contracts 1.2 it named whichever peer was connected when the record was last saved.
    /// </summary>
    public required string ConversationId { get; init; }

    /// <summary>
    /// The remote peer the transfer belongs to (its <see cref="Framing.IPeerSession.PeerId"/>): only a session with
    /// that peer may resume it, answer it or be told of its end. Null for a record a store kept from before peers
    /// were recorded (contracts 1.2): such a transfer is listed but never resumed or re-offered automatically.
    /// </summary>
    public string? PeerId { get; init; }

    /// <summary>Whether this peer sends or receives the file.</summary>
    public required Direction Direction { get; init; }

    /// <summary>The file name as offered (already sanitised on the receiving side).</summary>
    public required string FileName { get; init; }

    /// <summary>The file size in bytes.</summary>
    public required long Size { get; init; }

    /// <summary>The media type, such as <c>image/jpeg</c>.</summary>
    public required string MediaType { get; init; }

    /// <summary>The chunk payload size in bytes.</summary>
    public required int ChunkSize { get; init; }

    /// <summary>The SHA-256 of the whole file (32 bytes).</summary>
    public required byte[] Sha256 { get; init; }

    /// <summary>The current state.</summary>
    public required TransferState State { get; init; }

    /// <summary>The length of the prefix that is stored durably and verified chunk by chunk.</summary>
    public long VerifiedBytes { get; init; }

    /// <summary>The id of the file in the <see cref="IFileStore"/> (receiving side), or null.</summary>
    public string? FileId { get; init; }

    /// <summary>The path of the source file (sending side), or null.</summary>
    public string? SourcePath { get; init; }

    /// <summary>The chat message the file is attached to, or null.</summary>
    public string? ChatMessageId { get; init; }

    /// <summary>Why it failed, was cancelled or rejected, or null.</summary>
    public string? Reason { get; init; }

    /// <summary>When the transfer was offered.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>When the record last changed.</summary>
    public required DateTimeOffset UpdatedAt { get; init; }
}
