using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Messenger.Contracts.Storage;
using Messenger.Plugins.Storage.Folder;
using Messenger.Plugins.Storage.SqlCipher;

// crash-writer: writes messages and a large file forever, printing what is durable, until it is killed.
// benchmark: streams N GiB through a store and prints MB/s and peak RSS.
return args switch
{
    ["crash-writer", "sqlcipher", var directory, var keyHex] => await CrashWriter.RunAsync(SqlCipher(directory, keyHex)),
    ["crash-writer", "folder", var directory] => await CrashWriter.RunAsync(Folder(directory)),
    ["benchmark", var store, var directory, var gib] => await Benchmark.RunAsync(store, directory, double.Parse(gib, CultureInfo.InvariantCulture)),
    ["benchmark-open", var directory] => Benchmark.OpenWithPassphrase(directory),
    _ => Usage(),
};

static (IAsyncDisposable Owner, IMessageStore Messages, IFileStore Files) SqlCipher(string directory, string keyHex)
{
    var store = SqlCipherStore.Open(directory, StoreKey.FromRawKey(Convert.FromHexString(keyHex)));
    return (store, store.Messages, store.Files);
}

static (IAsyncDisposable Owner, IMessageStore Messages, IFileStore Files) Folder(string directory)
{
    var store = FolderStore.Open(Path.Combine(directory, "data"), Path.Combine(directory, "downloads"));
    return (store, store.Messages, store.Files);
}

static int Usage()
{
    Console.Error.WriteLine("usage: crash-writer sqlcipher <folder> <key-hex> | crash-writer folder <folder> | benchmark sqlcipher|folder <folder> <GiB> | benchmark-open <folder>");
    return 2;
}

/// <summary>The writer the crash test kills: reports each durable step on stdout so the test knows what must survive.</summary>
internal static class CrashWriter
{
    public const string FileId = "in-flight";

    public static async Task<int> RunAsync((IAsyncDisposable Owner, IMessageStore Messages, IFileStore Files) store)
    {
        await using var owner = store.Owner;
        await using var writer = await store.Files.OpenWriteAsync(FileId, new StoredFileMetadata("big.bin", null));
        var block = new byte[256 * 1024];
        for (var round = 0; ; round++)
        {
            await store.Messages.AddMessageAsync(new StoredMessage
            {
                MessageId = $"m{round}",
                ConversationId = "peer",
                Direction = Direction.Incoming,
                SentAt = DateTimeOffset.UnixEpoch.AddSeconds(round),
                Text = $"message {round}",
            });
            for (var i = 0; i < 8; i++)
            {
                Pattern.Fill(block, writer.Length);
                // An odd-sized write keeps the durable length off chunk boundaries.
                await writer.WriteAsync(block.AsMemory(0, block.Length - (i * 1000)));
            }

            await writer.FlushAsync();
            Console.WriteLine($"durable {round} {writer.Length}");
        }
    }
}

/// <summary>The byte at offset n of the crash writer's file, so any prefix can be checked without keeping it.</summary>
internal static class Pattern
{
    public static void Fill(Span<byte> buffer, long offset)
    {
        for (var i = 0; i < buffer.Length; i++)
        {
            buffer[i] = At(offset + i);
        }
    }

    public static byte At(long offset) => (byte)((offset * 31) ^ (offset >> 9));
}

/// <summary>Streams a large file in and out of a store and prints throughput and peak memory.</summary>
internal static class Benchmark
{
    public static async Task<int> RunAsync(string kind, string directory, double gib)
    {
        var size = (long)(gib * 1024 * 1024 * 1024);
        IAsyncDisposable owner;
        IFileStore files;
        if (kind == "sqlcipher")
        {
            var store = SqlCipherStore.Open(directory, StoreKey.CreateRandom());
            (owner, files) = (store, store.Files);
        }
        else
        {
            var store = FolderStore.Open(Path.Combine(directory, "data"), Path.Combine(directory, "downloads"));
            (owner, files) = (store, store.Files);
        }

        await using (owner)
        {
            var block = new byte[1024 * 1024];
            RandomNumberGenerator.Fill(block);
            using var written = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var clock = Stopwatch.StartNew();
            await using (var writer = await files.OpenWriteAsync("benchmark", new StoredFileMetadata("benchmark.bin", null)))
            {
                for (long done = 0; done < size; done += block.Length)
                {
                    var count = (int)Math.Min(block.Length, size - done);
                    block[0]++;
                    written.AppendData(block, 0, count);
                    await writer.WriteAsync(block.AsMemory(0, count));
                    if (done % (256L * 1024 * 1024) == 0)
                    {
                        await writer.FlushAsync();
                    }
                }

                await writer.CompleteAsync();
            }

            var writeSeconds = clock.Elapsed.TotalSeconds;
            var writeRss = PeakRssMiB();
            clock.Restart();
            using var read = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            await using (var stream = await files.OpenReadAsync("benchmark"))
            {
                int n;
                while ((n = await stream.ReadAsync(block)) > 0)
                {
                    read.AppendData(block, 0, n);
                }
            }

            var readSeconds = clock.Elapsed.TotalSeconds;
            var same = written.GetHashAndReset().AsSpan().SequenceEqual(read.GetHashAndReset());
            var mib = size / (1024.0 * 1024);
            Console.WriteLine("| store | size | write (encrypt+store) | read (decrypt+verify) | peak RSS after write | peak RSS after read | round trip |");
            Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- |");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {kind} | {gib:0.##} GiB | {mib / writeSeconds:0} MiB/s ({writeSeconds:0.0} s) | {mib / readSeconds:0} MiB/s ({readSeconds:0.0} s) | {writeRss:0} MiB | {PeakRssMiB():0} MiB | {(same ? "SHA-256 match" : "MISMATCH")} |"));
            return same ? 0 : 1;
        }
    }

    /// <summary>Times creating and reopening a passphrase store with the default Argon2id cost.</summary>
    public static int OpenWithPassphrase(string directory)
    {
        var clock = Stopwatch.StartNew();
        SqlCipherStore.Open(directory, StoreKey.FromPassphrase("benchmark passphrase")).Dispose();
        var create = clock.Elapsed.TotalSeconds;
        clock.Restart();
        SqlCipherStore.Open(directory, StoreKey.FromPassphrase("benchmark passphrase")).Dispose();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Argon2id {Argon2Parameters.Default}: create {create:0.00} s, reopen {clock.Elapsed.TotalSeconds:0.00} s, peak RSS {PeakRssMiB():0} MiB"));
        return 0;
    }

    private static double PeakRssMiB()
    {
        // VmHWM is the process's peak resident set, in kB.
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
    }
}
