using Messenger.Contracts.Channels;
using Messenger.Transport.Sctp;

namespace Messenger.Transport.DataChannels;

/// <summary>
/// Lends a reassembled message's pooled array to the application (<see cref="DataChannelMessage.Release"/>). Lease
/// objects are recycled too; each loan has its own generation, so a stale copy of a message releasing twice, or after
/// its lease went to a newer message, changes nothing.
/// </summary>
internal sealed class MessageLease : IDataChannelMessageLease
{
    private const int MaxPooled = 1024;
    private static readonly Stack<MessageLease> Free = new();
    private static readonly Lock FreeGate = new();

    private byte[]? _array;
    private long _generation;

    public static DataChannelMessage Lend(InboundMessage message, ReadOnlyMemory<byte> data, bool isText)
    {
        MessageLease? lease = null;
        lock (FreeGate)
        {
            Free.TryPop(out lease);
        }

        lease ??= new MessageLease();
        lease._array = message.Array;
        return new DataChannelMessage(data, isText, lease, Volatile.Read(ref lease._generation));
    }

    public void Release(long token)
    {
        if (Interlocked.CompareExchange(ref _generation, token + 1, token) != token)
        {
            return;
        }

        var array = _array;
        _array = null;
        if (array is not null)
        {
            MessagePool.Shared.Return(array);
        }

        lock (FreeGate)
        {
            if (Free.Count < MaxPooled)
            {
                Free.Push(this);
            }
        }
    }
}
