using Messenger.Contracts.FileTransfer;

namespace Messenger.Plugins.FileTransfer.Tests;

/// <summary>Records one service's transfer events and lets a test wait for one.</summary>
internal sealed class TransferEventLog
{
    private readonly Lock _sync = new();
    private readonly List<TransferEvent> _events = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TransferEventLog(IFileTransferService service) => service.TransferChanged += (_, e) => Add(e);

    public IReadOnlyList<TransferEvent> Events
    {
        get
        {
            lock (_sync)
            {
                return _events.ToArray();
            }
        }
    }

    public async Task<T> WaitForAsync<T>(Func<T, bool>? predicate = null, double seconds = 30)
        where T : TransferEvent
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        while (true)
        {
            Task changed;
            lock (_sync)
            {
                if (_events.OfType<T>().FirstOrDefault(e => predicate?.Invoke(e) ?? true) is { } found)
                {
                    return found;
                }

                changed = _changed.Task;
            }

            try
            {
                await changed.WaitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"No {typeof(T).Name} within {seconds} s; events so far: {string.Join(", ", Events.Select(Describe))}");
            }
        }
    }

    /// <summary>Waits for the transfer to reach a final state and returns that event.</summary>
    public Task<TransferEvent> WaitForEndAsync(string transferId, double seconds = 30) =>
        WaitForAsync<TransferEvent>(e => e.Transfer.TransferId == transferId && e is TransferCompleted or TransferFailed or TransferCancelled or TransferRejected, seconds);

    private void Add(TransferEvent transferEvent)
    {
        lock (_sync)
        {
            _events.Add(transferEvent);
            var changed = _changed;
            _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
            changed.SetResult();
        }
    }

    private static string Describe(TransferEvent e) => $"{e.GetType().Name}({e.Transfer.State}, {e.Transfer.Reason})";
}
