namespace Messenger.Plugins.FileTransfer;

/// <summary>
/// The sending side's protocol state for one transfer, with no I/O: fed the receiver's Accept, Ack and Verify frames
/// (and the digest of the prefix a resumed run skips), it says what the driver (<see cref="FileTransferService"/>)
/// does: start a run from an offset, move the window, record what the receiver made durable, complete, or fail with
/// a reason. Tests replay frame sequences against it with no host.
/// </summary>
internal sealed class SendingMachine
{
    /// <param name="size">The offered size.</param>
    /// <param name="chunkSize">The offered chunk size.</param>
    /// <param name="verifiedBytes">What the receiver had acknowledged as stored (from the record on a restart).</param>
    public SendingMachine(long size, int chunkSize, long verifiedBytes = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkSize, 1);
        Size = size;
        ChunkSize = chunkSize;
        VerifiedBytes = Math.Clamp(verifiedBytes, 0, size);
    }

    public long Size { get; }

    public int ChunkSize { get; }

    /// <summary>Bytes the receiver acknowledged as stored durably.</summary>
    public long VerifiedBytes { get; private set; }

    /// <summary>Bytes the receiver acknowledged as received (stored or queued for its store): the window's base.</summary>
    public long ReceivedBytes { get; private set; }

    /// <summary>Where the current run started, once an Accept started one.</summary>
    public long? RunOffset { get; private set; }

    /// <summary>The receiver accepted (or asked for a resend) from <paramref name="resumeOffset"/>.</summary>
    /// <returns>Null when a run starts there; otherwise why the transfer fails.</returns>
    public string? OnAccept(long resumeOffset)
    {
        if (resumeOffset < 0 || resumeOffset > Size || (resumeOffset != Size && resumeOffset % ChunkSize != 0))
        {
            return $"the receiver asked to resume from {resumeOffset}, which is not a chunk boundary of the {Size}-byte file";
        }

        RunOffset = resumeOffset;
        ReceivedBytes = resumeOffset;
        return null;
    }

    /// <summary>
    /// The run's prefix (the bytes before <see cref="RunOffset"/>) is hashed: a receiver that resumes proves it holds
    /// the same bytes by their digest.
    /// </summary>
    /// <returns>Null when the run may send; otherwise why it fails.</returns>
    public string? OnPrefixHashed(ReadOnlySpan<byte> ownPrefixSha256, byte[]? receiverPrefixSha256) =>
        receiverPrefixSha256 is null || ownPrefixSha256.SequenceEqual(receiverPrefixSha256)
            ? null
            : $"the receiver's first {RunOffset} bytes are not this file's (it changed since they were sent); send it again";

    /// <summary>An Ack arrived.</summary>
    /// <returns>True when <see cref="VerifiedBytes"/> grew (the record is saved).</returns>
    public bool OnAck(long verifiedBytes, long? receivedBytes)
    {
        ReceivedBytes = Math.Clamp(Math.Max(ReceivedBytes, Math.Max(receivedBytes ?? 0, verifiedBytes)), 0, Size);
        if (verifiedBytes <= VerifiedBytes)
        {
            return false;
        }

        VerifiedBytes = Math.Min(verifiedBytes, Size);
        return true;
    }

    /// <summary>The receiver's verdict on the whole file.</summary>
    /// <returns>Null when it completed; otherwise why it failed.</returns>
    public string? OnVerify(bool verified, string? reason)
    {
        if (!verified)
        {
            return $"the receiver's check failed: {reason}";
        }

        VerifiedBytes = Size;
        ReceivedBytes = Size;
        return null;
    }
}
