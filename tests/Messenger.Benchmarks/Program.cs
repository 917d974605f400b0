using System.Diagnostics;
using System.Globalization;
using Messenger.Benchmarks;

// `peer …` is one side of a two-process transfer, started by the `processes` benchmark (BenchPeer.cs).
if (args.Length > 0 && args[0] == "peer")
{
    return await BenchPeer.RunAsync(args[1..]);
}

// Each benchmark prints a table; none asserts. Figures are for comparing before/after on the same machine.
var all = new Dictionary<string, Func<Task>>(StringComparer.OrdinalIgnoreCase)
{
    ["framing"] = FramingBenchmark.RunAsync,
    ["scheduler"] = SchedulerBenchmark.RunAsync,
    ["preview"] = PreviewBenchmark.RunAsync,
    ["transport"] = TransportBenchmark.RunAsync,
    ["record-cipher"] = RecordCipherBenchmark.RunAsync,
    ["reference"] = ReferencePeerBenchmark.RunAsync,
    ["processes"] = TwoProcessBenchmark.RunAsync,
    ["end-to-end"] = EndToEndBenchmark.RunAsync,
};

var selected = args.Length == 0 ? all.Keys.Where(k => k is not "processes" and not "end-to-end").ToList() : args.ToList();
foreach (var name in selected)
{
    if (!all.TryGetValue(name, out var run))
    {
        Console.Error.WriteLine($"unknown benchmark '{name}'; choose from: {string.Join(", ", all.Keys)}");
        return 2;
    }

    Console.WriteLine($"## {name}  ({DateTime.UtcNow.ToString("u", CultureInfo.InvariantCulture)}, {Environment.ProcessorCount} cores, {(Debugger.IsAttached ? "debugger" : "no debugger")})");
    await run();
    Console.WriteLine();
}

return 0;
