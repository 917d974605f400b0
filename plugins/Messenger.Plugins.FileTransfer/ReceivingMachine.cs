using Messenger.Plugins.FileTransfer.Protocol;

namespace Messenger.Plugins.FileTransfer;

/// <summary>
/// The receiving side's protocol state for one run of a transfer, with no I/O: fed each chunk and the end marker as
/// they arrive, it says what the driver (<see cref="FileTransferService"/>) does: store the chunk, drop it, ask the
/// sender to resend from a gap, hand the digest to the writer, or fail with a reason for the peer. Tests replay frame
/// sequences against it with no host.
/// </summary>
internal sealed class ReceivingMachine
{
    private readonly byte[] _offeredSha256;
    private readonly int _maxGapRequests;

    /// <param name="size">The offered size.</param>
    /// <param name="chunkSize">The offered chunk size.</param>
    /// <param name="offeredSha256">The offer's SHA-256, or empty when the sender streams it (it comes with End).</param>
    /// <param name="maxGapRequests">How many times a run may ask for a resend from a gap before a gap fails it.</param>
    public ReceivingMachine(long size, int chunkSize, byte[] offeredSha256, int maxGapRequests)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkSize, 1);
        ArgumentNullException.ThrowIfNull(offeredSha256);
        Size = size;
        ChunkSize = chunkSize;
        _offeredSha256 = offeredSha256;
        _maxGapRequests = maxGapRequests;
    }

    public long Size { get; }

    public int ChunkSize { get; }

    public long ChunkCount => Size == 0 ? 0 : ((Size - 1) / ChunkSize) + 1;

    /// <summary>The chunk expected next; every chunk before it was checked and stored.</summary>
    public long NextIndex { get; private set; }

    /// <summary>Times this run asked the sender to resend from a gap.</summary>
    public int GapRequests { get; private set; }

    /// <summary>A resend was asked for: chunks other than <see cref="NextIndex"/> are stale until it arrives.</summary>
    public bool AwaitingResend { get; private set; }

    /// <summary>Bytes of the file received in order so far.</summary>
    public long ReceivedBytes => NextIndex >= ChunkCount ? Size : NextIndex * ChunkSize;

    /// <summary>Where a run continues from what the store holds: whole chunks only (a torn tail is cut and asked for again).</summary>
    public static long ResumeOffset(long storedLength, long size, int chunkSize) =>
        storedLength >= size ? size : storedLength / chunkSize * chunkSize;

    /// <summary>Starts a run at <paramref name="offset"/> (a <see cref="ResumeOffset"/>).</summary>
    public void Start(long offset)
    {
        if (offset < 0 || offset > Size || (offset != Size && offset % ChunkSize != 0))
        {
            throw new ArgumentOutOfRangeException(nameof(offset), offset, "a run starts at a chunk boundary or at the end");
        }

        NextIndex = offset == Size ? ChunkCount : offset / ChunkSize;
        GapRequests = 0;
        AwaitingResend = false;
    }

    /// <summary>A chunk arrived; the payload and CRC are checked only when it is the one due.</summary>
    public ChunkDecision OnChunk(long index, ReadOnlySpan<byte> payload, uint crc32C)
    {
        if (AwaitingResend)
        {
            if (index != NextIndex)
            {
                // Sent before the sender saw the resend request.
                return ChunkDecision.Drop;
            }

            AwaitingResend = false;
        }
        else if (GapRequests > 0 && index >= 0 && index < NextIndex)
        {
            // After a resend request the restarted run may repeat chunks this side already holds.
            return ChunkDecision.Drop;
        }

        if (index > NextIndex && index < ChunkCount && GapRequests < _maxGapRequests)
        {
            GapRequests++;
            AwaitingResend = true;
            return ChunkDecision.ResendFrom(NextIndex * ChunkSize);
        }

        if (Check(index, payload, crc32C) is { } problem)
        {
            return ChunkDecision.Fail(problem);
        }

        NextIndex++;
        return ChunkDecision.Store;
    }

    /// <summary>The sender's end marker arrived.</summary>
    public EndDecision OnEnd(long bytesSent, byte[]? sha256)
    {
        var received = ReceivedBytes;
        if (GapRequests > 0 && received != Size)
        {
            // The end of a run that a resend request restarted; the restarted run ends again.
            return EndDecision.Ignore;
        }

        if (bytesSent != Size || received != Size)
        {
            return EndDecision.Fail($"the sender stopped after {received} of the {Size} bytes it offered");
        }

        if (sha256 is not (null or { Length: 32 }))
        {
            return EndDecision.Fail("the sender's SHA-256 is not 32 bytes");
        }

        if (sha256 is { } streamed && _offeredSha256.Length != 0 && !streamed.AsSpan().SequenceEqual(_offeredSha256))
        {
            return EndDecision.Fail("the sender's SHA-256 at the end differs from the one it offered (the file changed while it was sent)");
        }

        return (sha256 ?? (_offeredSha256.Length == 32 ? _offeredSha256 : null)) is { } sha
            ? EndDecision.Verify(sha)
            : EndDecision.Fail("the sender sent no SHA-256, neither in the offer nor at the end");
    }

    private string? Check(long index, ReadOnlySpan<byte> payload, uint crc32C)
    {
        if (index < 0 || index >= ChunkCount)
        {
            return $"the sender sent chunk {index}, outside 0..{ChunkCount - 1} for {Size} bytes (more bytes than offered)";
        }

        if (index < NextIndex)
        {
            return $"the sender sent chunk {index} twice";
        }

        if (index > NextIndex)
        {
            return $"chunk {NextIndex} never arrived (chunk {index} came instead): the link lost data";
        }

        var expected = index == ChunkCount - 1 ? Size - (index * ChunkSize) : ChunkSize;
        if (payload.Length != expected)
        {
            return $"chunk {index} holds {payload.Length} bytes; {expected} were due";
        }

        return Crc32CChecksum.Compute(payload) != crc32C ? $"chunk {index} is corrupt (CRC-32C mismatch)" : null;
    }
}

/// <summary>What the driver does with a chunk.</summary>
internal enum ChunkAction
{
    /// <summary>Hand it to the transfer's writer: it was due and is intact.</summary>
    Store,

    /// <summary>Discard it: stale, sent before the sender saw this side's resend request.</summary>
    Drop,

    /// <summary>Send an Accept with <see cref="ChunkDecision.ResumeOffset"/>: a chunk was skipped.</summary>
    AskResend,

    /// <summary>Fail the transfer with <see cref="ChunkDecision.Reason"/>, telling the peer.</summary>
    Fail,
}

internal readonly record struct ChunkDecision(ChunkAction Action, long ResumeOffset = 0, string? Reason = null)
{
    public static ChunkDecision Store => new(ChunkAction.Store);

    public static ChunkDecision Drop => new(ChunkAction.Drop);

    public static ChunkDecision ResendFrom(long offset) => new(ChunkAction.AskResend, offset);

    public static ChunkDecision Fail(string reason) => new(ChunkAction.Fail, Reason: reason);
}

/// <summary>What the driver does with an end marker.</summary>
internal enum EndAction
{
    /// <summary>Nothing: the end of a run a resend restarted.</summary>
    Ignore,

    /// <summary>Give <see cref="EndDecision.Sha256"/> to the writer, which checks it after the last chunk is stored.</summary>
    Verify,

    /// <summary>Fail the transfer with <see cref="EndDecision.Reason"/>, telling the peer.</summary>
    Fail,
}

internal readonly record struct EndDecision(EndAction Action, byte[]? Sha256 = null, string? Reason = null)
{
    public static EndDecision Ignore => new(EndAction.Ignore);

    public static EndDecision Verify(byte[] sha256) => new(EndAction.Verify, sha256);

    public static EndDecision Fail(string reason) => new(EndAction.Fail, Reason: reason);
}
