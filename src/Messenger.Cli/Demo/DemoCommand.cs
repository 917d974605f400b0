using System.CommandLine;
using System.Diagnostics;
using Messenger.Contracts.Chat;
using Messenger.Contracts.FileTransfer;
using Messenger.Contracts.Framing;
using Messenger.Contracts.Storage;
using Messenger.Host;
using Messenger.Host.Plugins;
using Messenger.Host.Sessions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Spectre.Console;

namespace Messenger.Cli.Demo;

/// <summary>
/// <c>messenger demo</c>: two peers in one process, every plugin of plugins.json loaded, chat both ways, then chat
/// while a bulk stream saturates the same channel, and a summary. The peers are joined by the in-memory channel pair
/// until the real WebRTC transport lands.
/// </summary>
internal static class DemoCommand
{
    private const int ChunkSize = 16 * 1024;

    public static Command Create(Option<FileInfo?> pluginsOption)
    {
        var fileOption = new Option<FileInfo[]>("--file")
        {
            Description = "Files Alice sends Bob (repeat for several). Default: a generated photo, video clip and --size archive.",
            AllowMultipleArgumentsPerToken = true,
        };
        var sizeOption = new Option<string>("--size")
        {
            Description = "Size of the generated archive Alice sends (e.g. 200MB, 1GiB).",
            DefaultValueFactory = _ => "200MB",
        };
        var messagesOption = new Option<int>("--messages")
        {
            Description = "Chat messages each way during the bulk stream.",
            DefaultValueFactory = _ => 20,
        };
        var command = new Command("demo", "Run two peers in this process: load the plugins, chat, stream bulk data while chatting, print a summary.")
        {
            fileOption,
            sizeOption,
            messagesOption,
        };
        command.SetAction((parse, cancellationToken) => RunAsync(
            CliPaths.ResolvePluginsFile(parse.GetValue(pluginsOption)),
            parse.GetValue(fileOption) ?? [],
            ByteSize.Parse(parse.GetValue(sizeOption)!, "--size"),
            parse.GetValue(messagesOption),
            cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(string pluginsFile, FileInfo[] files, long size, int messages, CancellationToken cancellationToken)
    {
        if (messages is < 1 or > 10_000)
        {
            throw new CliException("--messages must be between 1 and 10000.");
        }

        foreach (var file in files)
        {
            if (Directory.Exists(file.FullName))
            {
                throw new CliException($"--file: {file.FullName} is a folder; --file takes a file (give --file once per file).");
            }

            if (!file.Exists)
            {
                throw new CliException($"--file: {file.FullName} does not exist.");
            }
        }

        AnsiConsole.MarkupLine($"[bold]Messenger demo[/]: two peers, Alice and Bob, in one process; plugins from [blue]{Markup.Escape(pluginsFile)}[/]");
        var loadAtBob = new DemoLoad();
        using var peerFiles = DemoPeerFiles.Create();
        AnsiConsole.MarkupLine($"[grey]Each peer keeps its store under {Markup.Escape(peerFiles.Root)} with a random key (deleted at the end).[/]");
        using var alice = BuildPeer(pluginsFile, peerFiles.For("alice"), null);
        using var bob = BuildPeer(pluginsFile, peerFiles.For("bob"), loadAtBob);
        PluginsCommand.Render(alice.Services.GetRequiredService<PluginCatalog>());

        AnsiConsole.MarkupLine("[grey]Connecting over 127.0.0.1: SDP offer/answer, ICE over UDP, DTLS 1.2, SCTP, one data channel…[/]");
        await using var link = await LoopbackLink.ConnectAsync(cancellationToken);
        AnsiConsole.MarkupLine($"  connected in {link.ConnectTime.TotalMilliseconds:F0} ms; DTLS fingerprints checked ({Markup.Escape(link.Fingerprints)})");
        var (aliceSession, _) = await alice.Services.GetRequiredService<PeerSessionHost>().StartAsync(link.AliceChannel, link.BobId, cancellationToken);
        await bob.Services.GetRequiredService<PeerSessionHost>().StartAsync(link.BobChannel, link.AliceId, cancellationToken);
        var aliceChat = alice.Services.GetRequiredService<IChatService>();
        var bobChat = bob.Services.GetRequiredService<IChatService>();
        bobChat.ChatChanged += (_, e) =>
        {
            if (e is ChatMessageReceived { Message: var m } && (m.Text.StartsWith("Hello", StringComparison.Ordinal) || m.Text.StartsWith("Here is", StringComparison.Ordinal)))
            {
                AnsiConsole.MarkupLine($"  [green]Bob[/] received: {Markup.Escape(m.Text)}");
            }
        };
        aliceChat.ChatChanged += (_, e) =>
        {
            if (e is ChatMessageReceived { Message: var m } && m.Text.StartsWith("Hi", StringComparison.Ordinal))
            {
                AnsiConsole.MarkupLine($"  [blue]Alice[/] received: {Markup.Escape(m.Text)}");
            }
        };

        AnsiConsole.MarkupLine("\n[bold]1. Chat[/]");
        var greeting = await ChatAndWaitAsync(aliceChat, "Hello Bob, this is Alice.", cancellationToken);
        AnsiConsole.MarkupLine($"  [blue]Alice[/] saw it delivered in {greeting.TotalMilliseconds:F2} ms");
        var reply = await ChatAndWaitAsync(bobChat, "Hi Alice! Bob here.", cancellationToken);
        AnsiConsole.MarkupLine($"  [green]Bob[/] saw it delivered in {reply.TotalMilliseconds:F2} ms");

        if (alice.Services.GetService<IFileTransferService>() is not null && bob.Services.GetService<IFileTransferService>() is not null)
        {
            return await SendFilesAsync(alice, bob, link.AliceId, peerFiles.Root, files, size, messages, cancellationToken);
        }

        AnsiConsole.MarkupLine($"\n[bold]2. No file-transfer plugin loaded: chat while {ByteSize.Format(size)} of bulk frames saturate the same channel[/]");
        var latencies = new List<TimeSpan>();
        var clock = Stopwatch.StartNew();
        await AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
            .StartAsync(async progress =>
            {
                var bar = progress.AddTask("Alice → Bob bulk", maxValue: size);
                var load = DemoLoad.SendAsync(aliceSession, size, ChunkSize, new Progress<long>(sent => bar.Value = Math.Min(sent, size)), cancellationToken);
                var interval = TimeSpan.FromMilliseconds(50);
                for (var i = 0; i < messages && !load.IsCompleted; i++)
                {
                    await Task.Delay(interval, cancellationToken);
                    latencies.Add(await ChatAndWaitAsync(i % 2 == 0 ? aliceChat : bobChat, $"message {i} during the load", cancellationToken));
                }

                await load;
                bar.Value = size;

                // Sent is not received: wait (bounded) for the last frames to cross the link.
                using var drain = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                drain.CancelAfter(TimeSpan.FromSeconds(30));
                var receivedAll = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                loadAtBob.OnReceived = total =>
                {
                    if (total >= size)
                    {
                        receivedAll.TrySetResult();
                    }
                };
                if (loadAtBob.BytesReceived < size)
                {
                    await receivedAll.Task.WaitAsync(drain.Token);
                }
            });
        clock.Stop();

        var received = loadAtBob.BytesReceived;
        latencies.Sort();
        var summary = new Table().Title("Summary").AddColumn("Measure").AddColumn(new TableColumn("Value").RightAligned());
        summary.AddRow("bulk bytes received by Bob", $"{received:N0}");
        summary.AddRow("bulk throughput", $"{received / clock.Elapsed.TotalSeconds / 1e6:F1} MB/s");
        summary.AddRow("chat messages during the load", $"{latencies.Count}");
        if (latencies.Count > 0)
        {
            summary.AddRow("chat round trip during the load: min / median / max", $"{latencies[0].TotalMilliseconds:F1} / {latencies[latencies.Count / 2].TotalMilliseconds:F1} / {latencies[^1].TotalMilliseconds:F1} ms");
        }

        var dropped = bob.Services.GetRequiredService<PeerSessionHost>().Current?.Statistics is { } stats ? stats.UnknownKind + stats.Malformed : 0;
        summary.AddRow("frames dropped (unknown or malformed) at Bob", $"{dropped}");
        AnsiConsole.Write(summary);
        await ShowHistoryAsync(bob, link.AliceId, cancellationToken);
        var complete = received >= size;
        AnsiConsole.MarkupLine(complete ? "[green]Demo finished.[/]" : "[red]Bob did not receive all bulk data.[/]");
        return complete ? ExitCodes.Ok : ExitCodes.Failed;
    }

    private static async Task<int> SendFilesAsync(IHost alice, IHost bob, string aliceId, string workFolder, FileInfo[] given, long size, int messages, CancellationToken cancellationToken)
    {
        List<string> paths;
        if (given.Length > 0)
        {
            paths = given.Select(f => f.FullName).ToList();
        }
        else
        {
            var media = Directory.CreateDirectory(Path.Combine(workFolder, "media")).FullName;
            AnsiConsole.MarkupLine($"[grey]Making the attachments: a photo and a clip with ffmpeg, and a {ByteSize.Format(size)} archive.[/]");
            paths = [await DemoMedia.ImageAsync(media, cancellationToken), await DemoMedia.VideoAsync(media, cancellationToken), await DemoMedia.LargeFileAsync(media, size, cancellationToken)];
        }

        AnsiConsole.MarkupLine($"\n[bold]2. Alice attaches {paths.Count} file(s); Bob sees each offer with its preview and accepts[/]");
        var latencies = new List<TimeSpan>();
        var outcomes = await DemoTransfers.RunAsync(alice, bob, paths, messages, latencies, ChatAndWaitAsync, cancellationToken);

        var summary = new Table().Title("Summary").AddColumn("File").AddColumn(new TableColumn("Bytes").RightAligned()).AddColumn(new TableColumn("MB/s").RightAligned()).AddColumn("Verified").AddColumn("Detail");
        foreach (var outcome in outcomes)
        {
            summary.AddRow(
                Markup.Escape(outcome.FileName),
                $"{outcome.Bytes:N0}",
                $"{outcome.Bytes / Math.Max(outcome.Elapsed.TotalSeconds, 1e-6) / 1e6:F1}",
                outcome.Verified ? "[green]yes[/]" : "[red]no[/]",
                Markup.Escape(outcome.Detail));
        }

        AnsiConsole.Write(summary);
        latencies.Sort();
        AnsiConsole.MarkupLine(latencies.Count > 0
            ? $"Chat round trip during the transfers ({latencies.Count} messages): min {latencies[0].TotalMilliseconds:F1} / median {latencies[latencies.Count / 2].TotalMilliseconds:F1} / max {latencies[^1].TotalMilliseconds:F1} ms"
            : "The transfers finished before any chat message was timed.");
        await ShowHistoryAsync(bob, aliceId, cancellationToken);
        var allVerified = outcomes.TrueForAll(o => o.Verified);
        AnsiConsole.MarkupLine(allVerified ? "[green]Demo finished: every file arrived and verified.[/]" : "[red]Demo finished with a file that did not verify.[/]");
        return allVerified ? ExitCodes.Ok : ExitCodes.Failed;
    }

    private static async Task ShowHistoryAsync(IHost peer, string conversation, CancellationToken cancellationToken)
    {
        if (peer.Services.GetServices<IMessageStore>().LastOrDefault() is not { } store)
        {
            AnsiConsole.MarkupLine("[grey]No storage plugin loaded: history is not kept.[/]");
            return;
        }

        var history = new Table().Title($"Bob's stored history with Alice (read back from {Markup.Escape(store.GetType().Name)}), last 5")
            .AddColumn("sent").AddColumn("from").AddColumn("text").AddColumn("delivered");
        await foreach (var message in store.GetMessagesAsync(conversation, 5, cancellationToken: cancellationToken))
        {
            history.AddRow(
                message.SentAt.ToString("HH:mm:ss.fff", System.Globalization.CultureInfo.InvariantCulture),
                message.Direction == Direction.Incoming ? "Alice" : "Bob",
                Markup.Escape(message.Text),
                message.DeliveredAt is null ? "" : "✓");
        }

        AnsiConsole.Write(history);
    }

    private static IHost BuildPeer(string pluginsFile, StoreSettings stores, DemoLoad? load)
    {
        var builder = MessengerHost.CreateBuilder(pluginsFile, bootstrapLogger: NullLogger.Instance, pluginSettings: stores.Select);
        builder.Logging.SetMinimumLevel(LogLevel.Warning).AddSimpleConsole(o => o.SingleLine = true);
        if (load is not null)
        {
            builder.Services.AddSingleton<IFrameHandler>(load);
        }

        return builder.BuildMessengerHost();
    }

    private static async Task<TimeSpan> ChatAndWaitAsync(IChatService chat, string text, CancellationToken cancellationToken)
    {
        var delivered = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);

        // The acknowledgement can arrive before SendAsync returns the message's id: every delivery is kept until the
        // id is known, then looked up.
        var seen = new System.Collections.Concurrent.ConcurrentDictionary<string, TimeSpan>(StringComparer.Ordinal);
        string? id = null;
        void OnChanged(object? sender, ChatEvent e)
        {
            if (e is ChatMessageDelivered d)
            {
                seen[d.MessageId] = d.RoundTrip;
                if (d.MessageId == Volatile.Read(ref id))
                {
                    delivered.TrySetResult(d.RoundTrip);
                }
            }
        }

        chat.ChatChanged += OnChanged;
        try
        {
            var sent = await chat.SendAsync(text, cancellationToken: cancellationToken);
            Volatile.Write(ref id, sent.MessageId);
            if (seen.TryGetValue(sent.MessageId, out var early))
            {
                delivered.TrySetResult(early);
            }

            return await delivered.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        }
        finally
        {
            chat.ChatChanged -= OnChanged;
        }
    }
}
