namespace Messenger.Host.Framing;

/// <summary>What the send scheduler has written, by priority. Safe to read from any thread.</summary>
public sealed class SchedulerCounters
{
    private long _interactiveFrames;
    private long _interactiveBytes;
    private long _bulkFrames;
    private long _bulkBytes;

    /// <summary>Interactive frames written.</summary>
    public long InteractiveFrames => Interlocked.Read(ref _interactiveFrames);

    /// <summary>Interactive bytes written.</summary>
    public long InteractiveBytes => Interlocked.Read(ref _interactiveBytes);

    /// <summary>Bulk frames written.</summary>
    public long BulkFrames => Interlocked.Read(ref _bulkFrames);

    /// <summary>Bulk bytes written.</summary>
    public long BulkBytes => Interlocked.Read(ref _bulkBytes);

    internal void Record(bool bulk, int bytes)
    {
        if (bulk)
        {
            Interlocked.Increment(ref _bulkFrames);
            Interlocked.Add(ref _bulkBytes, bytes);
        }
        else
        {
            Interlocked.Increment(ref _interactiveFrames);
            Interlocked.Add(ref _interactiveBytes, bytes);
        }
    }
}
