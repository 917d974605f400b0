using System.Diagnostics;
using System.Globalization;
using Messenger.Contracts.Storage;

namespace Messenger.Plugins.Storage.Tests;

/// <summary>Kills a writing process with SIGKILL and checks what the store keeps; each store's class derives from this.</summary>
public abstract class CrashConformanceTests : IDisposable
{
    private const string InFlightFileId = "in-flight";

    protected TempDirectory Folder { get; } = new();

    /// <summary>The crash-writer arguments after "crash-writer" that make it write to this store in <see cref="Folder"/>.</summary>
    protected abstract string[] WriterArguments { get; }

    protected abstract StoreSession Open();

    public void Dispose()
    {
        Folder.Dispose();
        GC.SuppressFinalize(this);
    }

    [Theory]
    [InlineData(3, 0)]
    [InlineData(6, 7)]
    [InlineData(10, 23)]
    public async Task KilledDuringHeavyWrites_ReopensWithCommittedDataAndAnAuthenticPrefix(int durableRounds, int delayMilliseconds)
    {
        var (lastRound, lastLength) = await RunWriterAndKillAsync(durableRounds, delayMilliseconds);

        await using var store = Open();

        // Every message added before a reported flush is there.
        var messages = await store.Messages.GetMessagesAsync("peer", 100_000).ToListAsync();
        Assert.True(messages.Count > lastRound, $"expected at least {lastRound + 1} messages, found {messages.Count}");
        Assert.Equal(Enumerable.Range(0, messages.Count).Select(i => $"m{i}"), messages.Select(m => m.MessageId));

        // The in-flight file holds at least what was reported durable, and every stored byte is the right one.
        var info = await store.Files.GetInfoAsync(InFlightFileId);
        Assert.NotNull(info);
        Assert.False(info.IsComplete);
        Assert.InRange(info.Length, lastLength, long.MaxValue);
        await using (var stream = await store.Files.OpenReadAsync(InFlightFileId))
        {
            Assert.Equal(info.Length, stream.Length);
            await AssertPatternAsync(stream);
        }

        // And the transfer can resume from there.
        await using (var writer = await store.Files.OpenWriteAsync(InFlightFileId, new StoredFileMetadata("big.bin", null)))
        {
            Assert.Equal(info.Length, writer.Length);
            var more = new byte[100_000];
            FillPattern(more, writer.Length);
            await writer.WriteAsync(more);
            await writer.CompleteAsync();
        }

        await using var resumed = await store.Files.OpenReadAsync(InFlightFileId);
        Assert.Equal(info.Length + 100_000, resumed.Length);
        await AssertPatternAsync(resumed);
    }

    private async Task<(int Round, long Length)> RunWriterAndKillAsync(int durableRounds, int delayMilliseconds)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Messenger.Plugins.Storage.Workload.dll"));
        start.ArgumentList.Add("crash-writer");
        foreach (var argument in WriterArguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the crash writer");
        var stderr = process.StandardError.ReadToEndAsync();
        var (round, length) = (-1, 0L);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (round + 1 < durableRounds)
        {
            var line = await process.StandardOutput.ReadLineAsync(timeout.Token)
                ?? throw new InvalidOperationException($"the crash writer stopped early: {await stderr}");
            var parts = line.Split(' ');
            (round, length) = (int.Parse(parts[1], CultureInfo.InvariantCulture), long.Parse(parts[2], CultureInfo.InvariantCulture));
        }

        // The writer is mid-way through its next round of writes when the kill lands.
        await Task.Delay(delayMilliseconds);
        process.Kill();
        await process.WaitForExitAsync();
        Assert.NotEqual(0, process.ExitCode);
        return (round, length);
    }

    private static async Task AssertPatternAsync(Stream stream)
    {
        var buffer = new byte[1 << 20];
        var expected = new byte[buffer.Length];
        long offset = 0;
        int read;
        while ((read = await stream.ReadAsync(buffer)) > 0)
        {
            FillPattern(expected.AsSpan(0, read), offset);
            Assert.True(buffer.AsSpan(0, read).SequenceEqual(expected.AsSpan(0, read)), $"bytes differ in the block at offset {offset}");
            offset += read;
        }
    }

    // The workload's pattern: byte n is a function of n, so any prefix can be checked.
    private static void FillPattern(Span<byte> buffer, long offset)
    {
        for (var i = 0; i < buffer.Length; i++)
        {
            var at = offset + i;
            buffer[i] = (byte)((at * 31) ^ (at >> 9));
        }
    }
}

public sealed class SqlCipherCrashTests : CrashConformanceTests
{
    protected override string[] WriterArguments => ["sqlcipher", Folder.Path, Convert.ToHexString(Stores.RawKey)];

    protected override StoreSession Open() => Stores.OpenSqlCipher(Folder.Path);
}

public sealed class FolderCrashTests : CrashConformanceTests
{
    protected override string[] WriterArguments => ["folder", Folder.Path];

    protected override StoreSession Open() => Stores.OpenFolder(Folder.Path);
}
