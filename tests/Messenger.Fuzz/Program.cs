using Messenger.Fuzz;

// messenger-fuzz afl TARGET            run under afl-fuzz (bash build.sh fuzz), input on stdin
// messenger-fuzz replay TARGET PATH... run each file (or every file of each folder) in this process; exit 1 on a finding
// messenger-fuzz list                  the targets
// messenger-fuzz seed DIR              write the starting corpora (DIR/TARGET/NAME) with the product's own writers
if (args is ["seed", var seedRoot])
{
    await Seeds.WriteAsync(seedRoot);
    return 0;
}

if (args is ["list"])
{
    foreach (var name in FuzzTargets.All.Keys)
    {
        Console.WriteLine(name);
    }

    return 0;
}

if (args.Length < 2 || !FuzzTargets.All.TryGetValue(args[1], out var target))
{
    Console.Error.WriteLine($"usage: Messenger.Fuzz afl TARGET | replay TARGET PATH... | list   (targets: {string.Join(", ", FuzzTargets.All.Keys)})");
    return 2;
}

if (args[0] == "afl")
{
    SharpFuzz.Fuzzer.OutOfProcess.Run(stream =>
    {
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        target(copy.ToArray());
    });
    return 0;
}

if (args[0] != "replay")
{
    Console.Error.WriteLine($"unknown mode '{args[0]}'");
    return 2;
}

var files = args.Skip(2).SelectMany(p => Directory.Exists(p) ? Directory.EnumerateFiles(p, "*", SearchOption.AllDirectories) : [p]).Order(StringComparer.Ordinal).ToList();
var findings = 0;
foreach (var file in files)
{
    try
    {
        target(File.ReadAllBytes(file));
    }
    catch (Exception ex) when (ex is not OutOfMemoryException)
    {
        findings++;
        Console.WriteLine($"FINDING {args[1]} {file}: {ex.GetType().FullName}: {ex.Message.Split('\n')[0]}");
        foreach (var frame in (ex.StackTrace ?? "").Split('\n').Take(4))
        {
            Console.WriteLine("    " + frame.Trim());
        }
    }
}

Console.WriteLine($"{args[1]}: {files.Count} inputs replayed, {findings} findings");
return findings == 0 ? 0 : 1;
