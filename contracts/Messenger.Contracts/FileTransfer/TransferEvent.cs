namespace Messenger.Contracts.FileTransfer;

/// <summary>Something happened to a transfer. The subtypes say what.</summary>
/// <param name="Transfer">The transfer after the change.</param>
public abstract record TransferEvent(TransferInfo Transfer);

/// <summary>The peer offered a file (incoming), or this peer's offer went out (outgoing).</summary>
/// <param name="Transfer">The transfer.</param>
public sealed record TransferOffered(TransferInfo Transfer) : TransferEvent(Transfer);

/// <summary>The transfer started or resumed.</summary>
/// <param name="Transfer">The transfer.</param>
/// <param name="ResumedFrom">The byte offset it (re)started from.</param>
public sealed record TransferStarted(TransferInfo Transfer, long ResumedFrom) : TransferEvent(Transfer);

/// <summary>More bytes went through.</summary>
/// <param name="Transfer">The transfer.</param>
/// <param name="Progress">Bytes, rates and time left.</param>
public sealed record TransferProgressed(TransferInfo Transfer, TransferProgress Progress) : TransferEvent(Transfer);

/// <summary>All bytes arrived and the whole-file SHA-256 matched on the receiver.</summary>
/// <param name="Transfer">The transfer.</param>
public sealed record TransferCompleted(TransferInfo Transfer) : TransferEvent(Transfer);

/// <summary>The transfer paused (the connection dropped); it resumes on the next session.</summary>
/// <param name="Transfer">The transfer.</param>
public sealed record TransferPaused(TransferInfo Transfer) : TransferEvent(Transfer);

/// <summary>The transfer failed; <see cref="TransferInfo.Reason"/> says why.</summary>
/// <param name="Transfer">The transfer.</param>
public sealed record TransferFailed(TransferInfo Transfer) : TransferEvent(Transfer);

/// <summary>The transfer was cancelled.</summary>
/// <param name="Transfer">The transfer.</param>
/// <param name="ByPeer">True when the remote peer cancelled, false when this peer did.</param>
public sealed record TransferCancelled(TransferInfo Transfer, bool ByPeer) : TransferEvent(Transfer);

/// <summary>The receiver declined the offer.</summary>
/// <param name="Transfer">The transfer.</param>
/// <param name="ByPeer">True when the remote peer rejected, false when this peer did.</param>
public sealed record TransferRejected(TransferInfo Transfer, bool ByPeer) : TransferEvent(Transfer);

/// <summary>
/// Work before the bytes move, with its progress (since contracts 1.5). A resumed transfer first proves that the
/// prefix the receiver holds is the sender's: each side hashes that prefix, which takes seconds for gigabytes.
/// Raised when the work starts, at least every 64 MiB, and when it ends (<paramref name="BytesDone"/> equal to
/// <paramref name="BytesTotal"/>).
/// </summary>
/// <param name="Transfer">The transfer.</param>
/// <param name="Work">What is being done.</param>
/// <param name="BytesDone">Bytes done so far.</param>
/// <param name="BytesTotal">Bytes in all.</param>
public sealed record TransferPreparing(TransferInfo Transfer, TransferPreparation Work, long BytesDone, long BytesTotal) : TransferEvent(Transfer);

/// <summary>The work a <see cref="TransferPreparing"/> event reports (new values may be added).</summary>
public enum TransferPreparation
{
    /// <summary>Hashing the prefix a resumed transfer continues from, to prove both sides hold the same bytes.</summary>
    CheckingResumedPrefix,
}
