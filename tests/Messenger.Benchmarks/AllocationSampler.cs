using System.Diagnostics.Tracing;
using System.Globalization;

namespace Messenger.Benchmarks;

/// <summary>
/// Samples the runtime's GC AllocationTick events (one per ~100 KB allocated) by type name, to say what a
/// benchmark allocates without an external profiler.
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private readonly Dictionary<string, long> _bytesByType = [];

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, (EventKeywords)0x1); // GC keyword
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (eventData.EventName is not { } name || !name.StartsWith("GCAllocationTick", StringComparison.Ordinal) || eventData.Payload is null)
        {
            return;
        }

        var index = eventData.PayloadNames!.IndexOf("TypeName");
        var amountIndex = eventData.PayloadNames.IndexOf("AllocationAmount64");
        var type = index >= 0 ? eventData.Payload[index] as string ?? "?" : "?";
        var amount = amountIndex >= 0 ? Convert.ToInt64(eventData.Payload[amountIndex], CultureInfo.InvariantCulture) : 100_000;
        lock (_bytesByType)
        {
            _bytesByType[type] = _bytesByType.GetValueOrDefault(type) + amount;
        }
    }

    public void Print()
    {
        lock (_bytesByType)
        {
            var table = new Table("type (sampled)", "MB");
            foreach (var (type, bytes) in _bytesByType.OrderByDescending(p => p.Value).Take(15))
            {
                table.Add(type, (bytes / 1e6).ToString("F0", CultureInfo.InvariantCulture));
            }

            table.Print();
        }
    }
}
