namespace Messenger.Plugins.FileTransfer;

/// <summary>
/// The sender's side of the receiver's window: a run waits before a chunk that would put more than the window beyond the
/// bytes the receiver reports written. Acks open it; no timer, no polling.
/// </summary>
internal sealed class SendWindow
{
    private readonly Lock _lock = new();
    private long _received;
    private long _window;
    private TaskCompletionSource? _opened;

    /// <summary>Bytes the receiver reported written in this run.</summary>
    public long Received
    {
        get
        {
            lock (_lock)
            {
                return _received;
            }
        }
    }

    /// <summary>Starts a run at <paramref name="offset"/>; a window of 0 or less (an older receiver) never waits.</summary>
    /// <param name="offset">Where the run starts.</param>
    /// <param name="window">The receiver's window in bytes.</param>
    public void Reset(long offset, long window)
    {
        TaskCompletionSource? opened;
        lock (_lock)
        {
            _received = offset;
            _window = window;
            opened = _opened;
            _opened = null;
        }

        opened?.TrySetResult();
    }

    /// <summary>The receiver reports <paramref name="received"/> bytes written; stale or smaller reports are ignored.</summary>
    /// <param name="received">The reported byte count.</param>
    public void OnReceived(long received)
    {
        TaskCompletionSource? opened;
        lock (_lock)
        {
            if (received <= _received)
            {
                return;
            }

            _received = received;
            opened = _opened;
            _opened = null;
        }

        opened?.TrySetResult();
    }

    /// <summary>Waits until the bytes up to <paramref name="end"/> fit in the window.</summary>
    /// <param name="end">The file offset just past the chunk about to be sent.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task.</returns>
    public async ValueTask WaitForRoomAsync(long end, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task opened;
            lock (_lock)
            {
                if (_window <= 0 || end - _received <= _window)
                {
                    return;
                }

                opened = (_opened ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            }

            await opened.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
