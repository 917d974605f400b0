namespace Messenger.Plugins.FileTransfer;

/// <summary>
/// When the receiver's writer makes its prefix durable and what it tells the sender, with no I/O: fed the bytes it
/// stored, it says whether to flush, save and ack (every ack interval: only durable bytes are acknowledged as
/// verified), to send a credit ack (every eighth of the window: the sender's window moves on what is stored or
/// queued), or nothing; at the end, whether the stored file is the one offered. <see cref="IncomingWriter"/> is its
/// driver, on the writer's own task.
/// </summary>
internal sealed class StoringMachine
{
    private readonly long _size;
    private readonly long _ackInterval;
    private readonly long _creditStep;

    /// <param name="size">The offered size.</param>
    /// <param name="chunkSize">The offered chunk size (the smallest credit step).</param>
    /// <param name="offset">Where the run starts: the verified prefix.</param>
    /// <param name="ackInterval">Bytes between durable acks.</param>
    /// <param name="window">The window the sender was given.</param>
    public StoringMachine(long size, int chunkSize, long offset, long ackInterval, long window)
    {
        _size = size;
        _ackInterval = ackInterval;
        _creditStep = Math.Max(chunkSize, window / 8);
        Written = Verified = _credited = offset;
    }

    /// <summary>Bytes stored (written to the store, maybe not yet durable).</summary>
    public long Written { get; private set; }

    /// <summary>Bytes made durable (flushed).</summary>
    public long Verified { get; private set; }

    private long _credited;

    /// <summary><paramref name="length"/> more bytes were stored and hashed.</summary>
    public StoreAction OnStored(int length)
    {
        Written += length;
        if (Written - Verified >= _ackInterval)
        {
            return StoreAction.FlushSaveAndAck;
        }

        if (Written - _credited >= _creditStep)
        {
            _credited = Written;
            return StoreAction.CreditAck;
        }

        return StoreAction.None;
    }

    /// <summary>The store flushed everything written: it is the verified prefix now (and the window's credit).</summary>
    public void OnFlushed()
    {
        Verified = Written;
        _credited = Written;
    }

    /// <summary>The end: the file is complete when every offered byte was stored and its digest is the sender's.</summary>
    /// <returns>Null when it is; otherwise why not.</returns>
    public string? CheckEnd(long storedLength, ReadOnlySpan<byte> storedSha256, ReadOnlySpan<byte> sendersSha256)
    {
        if (Written != _size || storedLength != _size)
        {
            return $"the stored file is {storedLength} bytes, not the {_size} offered";
        }

        return storedSha256.SequenceEqual(sendersSha256) ? null : "the received file's SHA-256 does not match the sender's";
    }
}

/// <summary>What the writer does after storing a chunk.</summary>
internal enum StoreAction
{
    None,

    /// <summary>Send an Ack of the verified bytes and of all written ones (the window's credit).</summary>
    CreditAck,

    /// <summary>Flush the store, then save the record and send an Ack of everything written as verified.</summary>
    FlushSaveAndAck,
}
