using Messenger.Contracts.FileTransfer;

namespace Messenger.Plugins.FileTransfer;

/// <summary>Turns byte counts into rate-limited progress with instantaneous and average speed and an ETA.</summary>
internal sealed class ProgressMeter(TimeProvider time, TimeSpan interval)
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(1);
    private readonly Queue<(long Timestamp, long Bytes)> _samples = new();
    private long _startTimestamp;
    private long _startBytes;
    private long _lastReport;

    /// <summary>Starts (or restarts after a resume) the average from <paramref name="bytes"/>.</summary>
    /// <param name="bytes">The bytes already done.</param>
    public void Restart(long bytes)
    {
        _startTimestamp = time.GetTimestamp();
        _startBytes = bytes;
        _lastReport = _startTimestamp;
        _samples.Clear();
        _samples.Enqueue((_startTimestamp, bytes));
    }

    /// <summary>Reports progress when the interval has passed since the last report, or when forced.</summary>
    /// <param name="transferId">The transfer.</param>
    /// <param name="bytes">Bytes done.</param>
    /// <param name="total">The size.</param>
    /// <param name="force">Report even inside the interval (the last bytes).</param>
    /// <returns>The progress, or null when it is too soon.</returns>
    public TransferProgress? TryReport(string transferId, long bytes, long total, bool force)
    {
        var now = time.GetTimestamp();
        if (!force && time.GetElapsedTime(_lastReport, now) < interval)
        {
            return null;
        }

        _lastReport = now;
        _samples.Enqueue((now, bytes));
        while (_samples.Count > 2 && time.GetElapsedTime(_samples.ElementAt(1).Timestamp, now) >= Window)
        {
            _samples.Dequeue();
        }

        var (oldest, oldestBytes) = _samples.Peek();
        var recentSeconds = time.GetElapsedTime(oldest, now).TotalSeconds;
        var instant = recentSeconds > 0 ? (bytes - oldestBytes) / recentSeconds : 0;
        var totalSeconds = time.GetElapsedTime(_startTimestamp, now).TotalSeconds;
        var average = totalSeconds > 0 ? (bytes - _startBytes) / totalSeconds : 0;
        TimeSpan? remaining = bytes >= total ? TimeSpan.Zero
            : instant > 0 ? TimeSpan.FromSeconds(Math.Min((total - bytes) / instant, TimeSpan.MaxValue.TotalSeconds / 2))
            : null;
        return new TransferProgress(transferId, bytes, total, instant, average, remaining);
    }
}
