namespace Messenger.Shared.Logging;

/// <summary>
/// Bounds how many lines one source (a peer's session, say) may write to the log: at most <c>perWindow</c> lines in
/// each <c>window</c>; the lines past that are counted, and the first line of the next window reports how many were
/// left out. A peer that floods us with bad input cannot flood the log. Thread-safe; time from a TimeProvider.
/// Compiled into the host and the plugins that need it (a source file, not a shared assembly).
/// </summary>
internal sealed class LogBudget(TimeProvider time, int perWindow = 10, TimeSpan? window = null)
{
    private readonly long _windowTicks = (window ?? TimeSpan.FromSeconds(10)).Ticks;
    private readonly Lock _gate = new();
    private long? _windowStart;
    private int _used;
    private long _suppressed;

    /// <summary>Lines left out in total.</summary>
    public long Suppressed { get; private set; }

    /// <summary>
    /// Takes one line from the budget. False: leave the line out (it was counted). True: write it, and first report
    /// <paramref name="leftOut"/> lines left out since the last one written, when that is more than zero.
    /// </summary>
    public bool TryTake(out long leftOut)
    {
        var now = time.GetUtcNow().UtcTicks;
        lock (_gate)
        {
            if (_windowStart is not { } start || now - start >= _windowTicks)
            {
                _windowStart = now;
                _used = 0;
            }

            if (_used >= perWindow)
            {
                _suppressed++;
                Suppressed++;
                leftOut = 0;
                return false;
            }

            _used++;
            leftOut = _suppressed;
            _suppressed = 0;
            return true;
        }
    }
}
