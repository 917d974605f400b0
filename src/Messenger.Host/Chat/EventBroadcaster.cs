using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace Messenger.Host.Chat;

/// <summary>Fans events out to any number of <c>WatchAsync</c> readers, each with its own unbounded queue.</summary>
/// <typeparam name="T">The event type.</typeparam>
internal sealed class EventBroadcaster<T>
{
    private readonly Lock _gate = new();
    private readonly List<ChannelWriter<T>> _watchers = [];

    public void Publish(T item)
    {
        lock (_gate)
        {
            foreach (var watcher in _watchers)
            {
                watcher.TryWrite(item);
            }
        }
    }

    public async IAsyncEnumerable<T> WatchAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var queue = Channel.CreateUnbounded<T>(new UnboundedChannelOptions { SingleReader = true });
        lock (_gate)
        {
            _watchers.Add(queue.Writer);
        }

        try
        {
            while (await queue.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (queue.Reader.TryRead(out var item))
                {
                    yield return item;
                }
            }
        }
        finally
        {
            lock (_gate)
            {
                _watchers.Remove(queue.Writer);
            }
        }
    }
}
