using Messenger.Contracts.Previews;
using Messenger.Contracts.Storage;

namespace Messenger.Contracts.FileTransfer;

/// <summary>A snapshot of one transfer, for display.</summary>
public sealed record TransferInfo
{
    /// <summary>The transfer id.</summary>
    public required string TransferId { get; init; }

    /// <summary>Whether this peer sends or receives.</summary>
    public required Direction Direction { get; init; }

    /// <summary>
    /// The remote peer the transfer belongs to, or null when it is not known (a record from before contracts 1.2);
    /// only a session with that peer resumes it.
    /// </summary>
    public string? PeerId { get; init; }

    /// <summary>The file name (sanitised on the receiving side).</summary>
    public required string FileName { get; init; }

    /// <summary>The size in bytes.</summary>
    public required long Size { get; init; }

    /// <summary>The media type.</summary>
    public required string MediaType { get; init; }

    /// <summary>The state.</summary>
    public required TransferState State { get; init; }

    /// <summary>Bytes sent or received and verified so far.</summary>
    public required long BytesTransferred { get; init; }

    /// <summary>The preview offered with the file, or null.</summary>
    public Preview? Preview { get; init; }

    /// <summary>The sender's caption, or null.</summary>
    public string? Caption { get; init; }

    /// <summary>The chat message the file is attached to, or null.</summary>
    public string? ChatMessageId { get; init; }

    /// <summary>The id under which the received file is stored, or null.</summary>
    public string? FileId { get; init; }

    /// <summary>Why it failed, was cancelled or rejected, or null.</summary>
    public string? Reason { get; init; }
}

/// <summary>Progress of one transfer.</summary>
/// <param name="TransferId">The transfer id.</param>
/// <param name="BytesTransferred">Bytes done.</param>
/// <param name="TotalBytes">The file size.</param>
/// <param name="InstantBytesPerSecond">The rate over the last second or so.</param>
/// <param name="AverageBytesPerSecond">The rate since the transfer (or its resume) started.</param>
/// <param name="EstimatedRemaining">The time left at the recent rate, or null when unknown.</param>
public sealed record TransferProgress(
    string TransferId,
    long BytesTransferred,
    long TotalBytes,
    double InstantBytesPerSecond,
    double AverageBytesPerSecond,
    TimeSpan? EstimatedRemaining)
{
    /// <summary>Percentage done, 0–100 (100 for an empty file).</summary>
    public double Percentage => TotalBytes == 0 ? 100 : 100.0 * BytesTransferred / TotalBytes;
}
