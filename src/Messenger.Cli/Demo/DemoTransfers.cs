using System.Collections.Concurrent;
using System.Diagnostics;
using Messenger.Contracts.Chat;
using Messenger.Contracts.FileTransfer;
using Messenger.Contracts.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Spectre.Console;

namespace Messenger.Cli.Demo;

/// <summary>
/// The demo's file transfer: Alice attaches files to chat messages, Bob sees each offer with its preview and accepts,
/// progress bars follow Alice's events, chat goes on during the transfer, and each stored file is read back and hashed.
/// </summary>
internal static class DemoTransfers
{
    public sealed record Outcome(string FileName, long Bytes, TimeSpan Elapsed, bool Verified, string Detail);

    public static async Task<List<Outcome>> RunAsync(
        IHost alice,
        IHost bob,
        IReadOnlyList<string> files,
        int chatMessages,
        List<TimeSpan> chatLatencies,
        Func<IChatService, string, CancellationToken, Task<TimeSpan>> chatAndWait,
        CancellationToken cancellationToken)
    {
        var aliceFiles = alice.Services.GetRequiredService<IFileTransferService>();
        var bobFiles = bob.Services.GetRequiredService<IFileTransferService>();
        var aliceChat = alice.Services.GetRequiredService<IChatService>();
        var bobChat = bob.Services.GetRequiredService<IChatService>();
        var bobStore = bob.Services.GetServices<IFileStore>().LastOrDefault();

        var terminal = new ConcurrentDictionary<string, TaskCompletionSource<TransferEvent>>(StringComparer.Ordinal);
        var progress = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        var bobCompleted = new ConcurrentDictionary<string, TransferInfo>(StringComparer.Ordinal);
        var endedAt = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        TaskCompletionSource<TransferEvent> Terminal(string id) => terminal.GetOrAdd(id, _ => new(TaskCreationOptions.RunContinuationsAsynchronously));

        aliceFiles.TransferChanged += (_, e) =>
        {
            switch (e)
            {
                case TransferProgressed p:
                    progress[p.Transfer.TransferId] = p.Progress.BytesTransferred;
                    break;
                case TransferCompleted or TransferFailed or TransferCancelled or TransferRejected:
                    progress[e.Transfer.TransferId] = e.Transfer.BytesTransferred;
                    endedAt.TryAdd(e.Transfer.TransferId, Stopwatch.GetTimestamp());
                    Terminal(e.Transfer.TransferId).TrySetResult(e);
                    break;
            }
        };
        bobFiles.TransferChanged += (_, e) =>
        {
            if (e is TransferOffered { Transfer: { Direction: Direction.Incoming } offer })
            {
                DescribeOffer(offer);
                _ = AcceptAsync(bobFiles, offer.TransferId, cancellationToken);
            }
            else if (e is TransferCompleted { Transfer: { Direction: Direction.Incoming } done })
            {
                bobCompleted[done.TransferId] = done;
            }
        };

        var outcomes = new List<Outcome>();
        await AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
            .StartAsync(async ui =>
            {
                var started = new List<(string Path, TransferInfo Info, ProgressTask Bar, long StartedAt)>();
                foreach (var path in files)
                {
                    var message = await aliceChat.SendAsync($"Here is {Path.GetFileName(path)}", cancellationToken: cancellationToken);
                    var info = await aliceFiles.SendFileAsync(path, new SendFileOptions { Caption = $"from Alice: {Path.GetFileName(path)}", ChatMessageId = message.MessageId }, cancellationToken);
                    started.Add((path, info, ui.AddTask($"Alice → Bob {Markup.Escape(info.FileName)}", maxValue: Math.Max(1, info.Size)), Stopwatch.GetTimestamp()));
                }

                // Chat while the files move: round trips measured on the same channel.
                var chatting = Task.Run(
                    async () =>
                    {
                        for (var i = 0; i < chatMessages && !started.TrueForAll(s => Terminal(s.Info.TransferId).Task.IsCompleted); i++)
                        {
                            await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken);
                            chatLatencies.Add(await chatAndWait(i % 2 == 0 ? aliceChat : bobChat, $"message {i} during the transfer", cancellationToken));
                        }
                    },
                    cancellationToken);

                using var ticker = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
                while (!started.TrueForAll(s => Terminal(s.Info.TransferId).Task.IsCompleted))
                {
                    foreach (var (_, info, bar, _) in started)
                    {
                        bar.Value = progress.GetValueOrDefault(info.TransferId);
                    }

                    await ticker.WaitForNextTickAsync(cancellationToken);
                }

                await chatting;
                foreach (var (path, info, bar, startedAt) in started)
                {
                    var end = await Terminal(info.TransferId).Task;
                    var elapsed = Stopwatch.GetElapsedTime(startedAt, endedAt[info.TransferId]);
                    bar.Value = end is TransferCompleted ? bar.MaxValue : bar.Value;
                    outcomes.Add(await VerifyAsync(path, end, bobCompleted.GetValueOrDefault(info.TransferId), bobStore, elapsed, cancellationToken));
                }
            });
        return outcomes;
    }

    private static async Task AcceptAsync(IFileTransferService files, string transferId, CancellationToken cancellationToken)
    {
        try
        {
            await files.AcceptAsync(transferId, cancellationToken);
        }
        catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException)
        {
            AnsiConsole.MarkupLine($"  [red]Bob could not accept {Markup.Escape(transferId)}: {Markup.Escape(ex.Message)}[/]");
        }
    }

    private static void DescribeOffer(TransferInfo offer)
    {
        var preview = offer.Preview is { } p
            ? $"preview {p.Width}×{p.Height} {p.ThumbnailMediaType} ({p.Thumbnail.Length:N0} B) of a {p.SourceWidth}×{p.SourceHeight} {p.SourceMediaType}{(p.Duration is { } d ? $", {d.TotalSeconds:F1} s" : "")}"
            : "no preview";
        AnsiConsole.MarkupLine($"  [green]Bob[/] is offered [bold]{Markup.Escape(offer.FileName)}[/] ({ByteSize.Format(offer.Size)}, {Markup.Escape(offer.MediaType)}) — {Markup.Escape(preview)}; accepting");
    }

    private static async Task<Outcome> VerifyAsync(string path, TransferEvent end, TransferInfo? atBob, IFileStore? bobStore, TimeSpan elapsed, CancellationToken cancellationToken)
    {
        var name = Path.GetFileName(path);
        if (end is not TransferCompleted)
        {
            return new Outcome(name, end.Transfer.BytesTransferred, elapsed, false, $"{end.GetType().Name}: {end.Transfer.Reason}");
        }

        if (atBob?.FileId is not { } fileId || bobStore is null)
        {
            return new Outcome(name, end.Transfer.Size, elapsed, false, "completed, but Bob's stored copy could not be found");
        }

        await using var source = File.OpenRead(path);
        await using var stored = await bobStore.OpenReadAsync(fileId, cancellationToken);
        var sourceHash = await DemoMedia.Sha256Async(source, cancellationToken);
        var storedHash = await DemoMedia.Sha256Async(stored, cancellationToken);
        var same = sourceHash.AsSpan().SequenceEqual(storedHash);
        return new Outcome(name, end.Transfer.Size, elapsed, same, same ? "SHA-256 of Bob's stored copy matches" : "Bob's stored copy differs");
    }
}
