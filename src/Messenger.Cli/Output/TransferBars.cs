using System.Collections.Concurrent;
using Messenger.Contracts.FileTransfer;
using Spectre.Console;

namespace Messenger.Cli.Output;

/// <summary>
/// Spectre.Console progress bars, one per running transfer, shown while any transfer runs. Lines printed meanwhile
/// appear above the bars (Spectre's live display hooks the console), so chat goes on during a transfer.
/// </summary>
internal sealed class TransferBars(TimeProvider time)
{
    private static readonly TimeSpan Refresh = TimeSpan.FromMilliseconds(100);

    private readonly ConcurrentDictionary<string, State> _transfers = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private Task _display = Task.CompletedTask;

    public void Update(TransferEvent transferEvent)
    {
        var t = transferEvent.Transfer;
        switch (transferEvent)
        {
            case TransferStarted or TransferProgressed:
                var bytes = transferEvent is TransferProgressed p ? p.Progress.BytesTransferred : t.BytesTransferred;
                _transfers.AddOrUpdate(t.TransferId, _ => new State(t, bytes, false), (_, s) => s with { Bytes = bytes });
                break;
            case TransferCompleted:
                _transfers.AddOrUpdate(t.TransferId, _ => new State(t, t.Size, true), (_, s) => s with { Bytes = t.Size, Done = true });
                return;
            case TransferFailed or TransferCancelled or TransferRejected or TransferPaused:
                _transfers.AddOrUpdate(t.TransferId, _ => new State(t, t.BytesTransferred, true), (_, s) => s with { Done = true });
                return;
            default:
                return;
        }

        lock (_gate)
        {
            if (_display.IsCompleted)
            {
                _display = Task.Run(ShowAsync);
            }
        }
    }

    public async Task StopAsync()
    {
        foreach (var (id, state) in _transfers)
        {
            _transfers[id] = state with { Done = true };
        }

        Task display;
        lock (_gate)
        {
            display = _display;
        }

        await display.WaitAsync(TimeSpan.FromSeconds(2), time).ContinueWith(static _ => { }, TaskScheduler.Default);
    }

    private async Task ShowAsync()
    {
        await AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
            .StartAsync(async ui =>
            {
                var bars = new Dictionary<string, ProgressTask>(StringComparer.Ordinal);
                while (true)
                {
                    foreach (var (id, state) in _transfers)
                    {
                        if (!bars.TryGetValue(id, out var bar))
                        {
                            var arrow = state.Info.Direction == Messenger.Contracts.Storage.Direction.Incoming ? "⇣" : "⇡";
                            bar = ui.AddTask($"{arrow} {Markup.Escape(ChatOutput.Clean(state.Info.FileName))}", maxValue: Math.Max(1, state.Info.Size));
                            bars[id] = bar;
                        }

                        bar.Value = Math.Min(state.Bytes, bar.MaxValue);
                        if (state.Done)
                        {
                            bar.StopTask();
                            _transfers.TryRemove(id, out _);
                        }
                    }

                    if (_transfers.IsEmpty)
                    {
                        return;
                    }

                    await Task.Delay(Refresh, time);
                }
            });
    }

    private sealed record State(TransferInfo Info, long Bytes, bool Done);
}
