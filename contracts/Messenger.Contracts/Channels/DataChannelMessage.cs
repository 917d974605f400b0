namespace Messenger.Contracts.Channels;

/// <summary>One message received on a data channel.</summary>
/// <param name="Data">
/// The message bytes. The receiver owns them and may keep them, unless it calls <see cref="Release"/>: after that it
/// must not touch them again.
/// </param>
/// <param name="IsText">True when the sender sent a UTF-8 text message, false for binary.</param>
public readonly record struct DataChannelMessage(ReadOnlyMemory<byte> Data, bool IsText)
{
    /// <summary>A message whose buffer a transport lent from its pool (contracts 1.2).</summary>
    /// <param name="data">The message bytes, in the lent buffer.</param>
    /// <param name="isText">True for a UTF-8 text message.</param>
    /// <param name="lease">Takes the buffer back.</param>
    /// <param name="leaseToken">Identifies this loan to <paramref name="lease"/>.</param>
    public DataChannelMessage(ReadOnlyMemory<byte> data, bool isText, IDataChannelMessageLease lease, long leaseToken)
        : this(data, isText)
    {
        Lease = lease;
        LeaseToken = leaseToken;
    }

    /// <summary>The transport's pool that lent <see cref="Data"/>, or null when the bytes are simply the receiver's.</summary>
    public IDataChannelMessageLease? Lease { get; }

    /// <summary>Identifies this loan to <see cref="Lease"/>.</summary>
    public long LeaseToken { get; }

    /// <summary>
    /// Hands a lent buffer back to the transport, which reuses it for later messages: a receiver that is done with the
    /// bytes calls it so a long transfer allocates nothing. Optional (an unreleased buffer is garbage collected);
    /// calling it twice, or for a message that was not lent, does nothing.
    /// </summary>
    public void Release() => Lease?.Release(LeaseToken);
}

/// <summary>Takes back the buffers a transport lends for received messages (see <see cref="DataChannelMessage.Release"/>).</summary>
public interface IDataChannelMessageLease
{
    /// <summary>Returns the buffer lent under <paramref name="token"/>; later calls with the same token do nothing.</summary>
    /// <param name="token">The <see cref="DataChannelMessage.LeaseToken"/> of the message.</param>
    void Release(long token);
}
