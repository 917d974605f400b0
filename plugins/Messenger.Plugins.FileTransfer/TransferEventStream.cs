using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Messenger.Contracts.FileTransfer;

namespace Messenger.Plugins.FileTransfer;

/// <summary>Fans transfer events out to every <c>WatchAsync</c> reader, each from the moment it started reading.</summary>
internal sealed class TransferEventStream
{
    private readonly Lock _sync = new();
    private readonly List<ChannelWriter<TransferEvent>> _watchers = [];

    public void Publish(TransferEvent transferEvent)
    {
        lock (_sync)
        {
            foreach (var watcher in _watchers)
            {
                // Unbounded: progress is rate-limited, so a watcher falls behind by events, not by memory.
                watcher.TryWrite(transferEvent);
            }
        }
    }

    public async IAsyncEnumerable<TransferEvent> WatchAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var channel = Channel.CreateUnbounded<TransferEvent>(new UnboundedChannelOptions { SingleReader = true });
        lock (_sync)
        {
            _watchers.Add(channel.Writer);
        }

        try
        {
            await foreach (var item in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return item;
            }
        }
        finally
        {
            lock (_sync)
            {
                _watchers.Remove(channel.Writer);
            }
        }
    }
}
