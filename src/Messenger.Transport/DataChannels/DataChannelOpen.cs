using Messenger.Contracts.Channels;

namespace Messenger.Transport.DataChannels;

/// <summary>Waiting for a channel to open, for code that holds a channel it created before the peer acknowledged it.</summary>
internal static class DataChannelOpen
{
    /// <summary>Completes once <paramref name="channel"/> is Open; <see cref="TimeoutException"/> after <paramref name="limit"/>.</summary>
    public static async Task WaitAsync(IDataChannel channel, TimeSpan limit)
    {
        var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        channel.StateChanged += (_, state) =>
        {
            if (state == DataChannelState.Open)
            {
                open.TrySetResult();
            }
        };
        if (channel.State != DataChannelState.Open)
        {
            await open.Task.WaitAsync(limit).ConfigureAwait(false);
        }
    }
}
