using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace Messenger.Contracts;

/// <summary>
/// Fans events out to any number of <c>WatchAsync</c> readers, each receiving every event published from its first
/// <c>MoveNextAsync</c> on. The host's chat and the file-transfer plugin use it; plugins that offer a
/// <c>WatchAsync</c> can too.
/// </summary>
/// <typeparam name="T">The event type.</typeparam>
public sealed class EventFanout<T>
{
    private readonly Lock _gate = new();
    private readonly List<ChannelWriter<T>> _watchers = [];

    /// <summary>Hands <paramref name="item"/> to every current reader. Never blocks.</summary>
    /// <param name="item">The event.</param>
    public void Publish(T item)
    {
        lock (_gate)
        {
            foreach (var watcher in _watchers)
            {
                // Unbounded per reader: publishers rate-limit what they publish (progress), so a slow reader lags in events, not memory.
                watcher.TryWrite(item);
            }
        }
    }

    /// <summary>The events published from the first <c>MoveNextAsync</c> on, in order, until cancelled.</summary>
    /// <param name="cancellationToken">Ends the stream.</param>
    /// <returns>The events.</returns>
    public async IAsyncEnumerable<T> WatchAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var queue = Channel.CreateUnbounded<T>(new UnboundedChannelOptions { SingleReader = true });
        lock (_gate)
        {
            _watchers.Add(queue.Writer);
        }

        try
        {
            await foreach (var item in queue.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return item;
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
