using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Messenger.Contracts.Channels;
using Messenger.Contracts.Chat;
using Messenger.Contracts.FileTransfer;
using Messenger.Contracts.Storage;
using Messenger.Host.Sessions;
using Messenger.Transport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Spectre.Console;

namespace Messenger.Cli.Chat;

/// <summary>
/// The chat between two connected peers: stdin is read on its own task (a line is a chat message or a /command),
/// events print as they happen, and the session ends on /quit, end of input, the peer leaving, or Ctrl-C. On the way
/// out the channel is closed first, so the file-transfer plugin pauses what is running (it resumes on the next
/// connection), then the host, and with it the store, is disposed by the caller.
/// </summary>
internal sealed class ChatSession
{
    public const string Commands = """
        Type a line and press Enter to send it. Commands:
          /send PATH...     offer one or more files (quote paths with spaces: /send "my file.jpg")
          /accept ID        accept an incoming file (ID from the offer; a unique prefix is enough)
          /reject ID        refuse an incoming file
          /cancel ID        stop a transfer in either direction
          /resend ID        offer the file of an earlier outgoing transfer again, as a new transfer to this peer
          /transfers        list the transfers with this peer (and older ones whose peer was not recorded)
          /history [N]      the last N (default 20) stored messages with this peer
          /help             this list
          /quit             leave (running transfers pause and resume next time)
        A line starting with // sends the text after the first slash.
        """;

    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(5);

    private readonly IHost _host;
    private readonly PeerLink _link;
    private readonly ChatOutput _output;
    private readonly string _peer;
    private readonly bool _autoAccept;
    private readonly IChatService _chat;
    private readonly IFileTransferService? _files;
    private readonly IMessageStore? _messages;
    private readonly List<Task> _background = [];
    private readonly TimeProvider _time;
    private readonly TimeSpan? _giveUpAfter;
    private readonly TaskCompletionSource _lost = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationTokenSource? _unanswered;
    private int _unreachable;

    /// <param name="giveUpAfter">
    /// How long the peer may stay silent (after the transport reported it Disconnected) before this session counts the
    /// connection as lost and ends with <see cref="ConnectionLost"/>, so the caller can reconnect; null waits for the
    /// transport's own verdict (consent expiry, 30 s).
    /// </param>
    public ChatSession(IHost host, PeerLink link, ChatOutput output, string peer, bool autoAccept, TimeSpan? giveUpAfter = null)
    {
        _giveUpAfter = giveUpAfter;
        _host = host;
        _link = link;
        _output = output;
        _peer = peer;
        _autoAccept = autoAccept;
        _chat = host.Services.GetRequiredService<IChatService>();
        _files = host.Services.GetService<IFileTransferService>();
        _messages = host.Services.GetServices<IMessageStore>().LastOrDefault();
        _time = host.Services.GetRequiredService<TimeProvider>();
    }

    /// <summary>True when the chat ended because the peer stopped answering or the connection failed (not a quit, not the peer leaving).</summary>
    public bool ConnectionLost { get; private set; }

    /// <summary>Runs until the chat ends; returns the exit code.</summary>
    public async Task<int> RunAsync(TextReader input, CancellationToken cancellationToken)
    {
        _link.Connection.ConnectionStateChanged += OnConnectionState;
        _chat.ChatChanged += OnChat;
        if (_files is not null)
        {
            _files.TransferChanged += OnTransfer;
        }

        Task running;
        PeerSession session;
        try
        {
            (session, running) = await _host.Services.GetRequiredService<PeerSessionHost>().StartAsync(_link.Channel, _peer, CancellationToken.None);
        }
        catch (InvalidOperationException) when (_link.Channel.State != DataChannelState.Open)
        {
            // The peer closed the channel between its opening and the chat's start: a peer that refused this
            // profile's identity (exit code 6 on its side) does exactly that, before anything is exchanged.
            throw new PeerLinkException("the peer closed the connection before the chat started (it may not know this profile's identity: compare safety codes with messenger whoami)");
        }

        _output.Connected(_link);

        // The reader stops with the session: after a lost connection the next session reads the following lines.
        using var readerStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var reading = Task.Run(() => ReadCommandsAsync(input, readerStop.Token), CancellationToken.None);
        var cancelled = Task.Delay(Timeout.InfiniteTimeSpan, _time, cancellationToken);
        var first = await Task.WhenAny(reading, running, cancelled, _lost.Task);
        var reason = "cancelled (Ctrl-C)";
        var failed = false;
        try
        {
            if (first == reading)
            {
                reason = await reading;
            }
            else if (first == _lost.Task)
            {
                ConnectionLost = true;
                reason = $"{_output.Peer} stopped answering (nothing received for {(_giveUpAfter!.Value + PeerConnectionSilence).TotalSeconds:0} s)";
            }
            else if (first == running)
            {
                reason = session switch
                {
                    { CloseReason: { } ours } => $"closed the session: {ours}",
                    { RemoteCloseReason: { } theirs } => $"{_output.Peer} closed the session: {theirs}",
                    _ when _link.Connection.ConnectionState == PeerConnectionState.Failed => $"the connection failed: {_link.Connection.Error?.Message ?? "no reason given"}",
                    _ => _link.Connection.AbortReason is { } aborted ? $"the connection was aborted: {aborted.TrimEnd('.')}" : $"{_output.Peer} left",
                };
            }
        }
        finally
        {
            // Whatever ended the chat (a command that threw included): close the channel so transfers pause and
            // can resume, and let go of the plugins' events.
            failed = _link.Connection.ConnectionState == PeerConnectionState.Failed;
            ConnectionLost |= failed && first == running;
            _link.Connection.ConnectionStateChanged -= OnConnectionState;
            await readerStop.CancelAsync();
            try
            {
                await reading.WaitAsync(CloseTimeout, _time, CancellationToken.None);
            }
            catch (Exception ex) when (ex is OperationCanceledException or TimeoutException)
            {
                // Stopped as meant (or a command still running past the limit: it ends with the process).
            }

            await CloseAsync(running);
            _output.Event("disconnected", new JsonObject { ["reason"] = reason }, $"[grey]Disconnected: {Markup.Escape(ChatOutput.Clean(reason))}.[/]");
            _chat.ChatChanged -= OnChat;
            if (_files is not null)
            {
                _files.TransferChanged -= OnTransfer;
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        return failed ? ExitCodes.ConnectionFailed : ExitCodes.Ok;
    }

    /// <summary>The transport's own wait before it reports the peer Disconnected (the CLI keeps the default).</summary>
    private static readonly TimeSpan PeerConnectionSilence = Messenger.Transport.Ice.IceAgentOptions.DefaultDisconnectedTimeout;

    // The transport reports a silent peer within seconds; say so at once, and give up on this connection if it lasts.
    private void OnConnectionState(object? sender, PeerConnectionState state)
    {
        switch (state)
        {
            case PeerConnectionState.Disconnected:
                Interlocked.Exchange(ref _unreachable, 1);
                _output.Event(
                    "peer-unreachable",
                    new JsonObject { ["peer"] = _output.Peer, ["silentSeconds"] = PeerConnectionSilence.TotalSeconds },
                    $"[yellow]{Markup.Escape(_output.Peer)} is not answering[/] (nothing received for {PeerConnectionSilence.TotalSeconds:0} s){(_giveUpAfter is { } wait ? $"; giving this connection up if it lasts {wait.TotalSeconds:0} s more" : "")}.");
                if (_giveUpAfter is { } after)
                {
                    var unanswered = new CancellationTokenSource();
                    Interlocked.Exchange(ref _unanswered, unanswered)?.Cancel();
                    _ = Task.Delay(after, _time, unanswered.Token).ContinueWith(t => { if (!t.IsCanceled) { _lost.TrySetResult(); } }, TaskScheduler.Default);
                }

                break;
            case PeerConnectionState.Connected:
                if (Interlocked.Exchange(ref _unanswered, null) is { } timer)
                {
                    timer.Cancel();
                    timer.Dispose();
                }

                if (Interlocked.Exchange(ref _unreachable, 0) == 1)
                {
                    _output.Event("peer-back", new JsonObject { ["peer"] = _output.Peer }, $"[green]{Markup.Escape(_output.Peer)} is answering again.[/]");
                }

                break;
        }
    }

    private async Task CloseAsync(Task running)
    {
        // Closing the channel ends the session; the plugins see it end and pause running transfers.
        await _link.Connection.CloseAsync().WaitAsync(CloseTimeout, _time).ContinueWith(static _ => { }, TaskScheduler.Default);
        await running.WaitAsync(CloseTimeout, _time).ContinueWith(static _ => { }, TaskScheduler.Default);
        Task[] pending;
        lock (_background)
        {
            pending = [.. _background];
        }

        await Task.WhenAll(pending).WaitAsync(CloseTimeout, _time).ContinueWith(static _ => { }, TaskScheduler.Default);
        await _output.FlushAsync();
    }

    /// <summary>Reads commands until /quit or the end of input; returns why it stopped.</summary>
    private async Task<string> ReadCommandsAsync(TextReader input, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var line = await input.ReadLineAsync(cancellationToken);
            if (line is null)
            {
                return "end of input";
            }

            if (line.Length > 0 && !await ExecuteAsync(line.TrimEnd('\r'), cancellationToken))
            {
                return "you quit";
            }
        }

        return "cancelled";
    }

    /// <summary>Runs one line; false means quit.</summary>
    private async Task<bool> ExecuteAsync(string line, CancellationToken cancellationToken)
    {
        if (!line.StartsWith('/') || line.StartsWith("//", StringComparison.Ordinal))
        {
            await SendChatAsync(line.StartsWith("//", StringComparison.Ordinal) ? line[1..] : line, cancellationToken);
            return true;
        }

        var words = CommandLineWords.Split(line);
        var arguments = words.Skip(1).ToArray();
        switch (words[0].ToLowerInvariant())
        {
            case "/quit" or "/exit":
                return false;
            case "/help":
                Help();
                break;
            case "/send" when arguments.Length > 0:
                foreach (var path in arguments)
                {
                    Track(SendFileAsync(path, cancellationToken));
                }

                break;
            case "/accept" when arguments.Length == 1:
                await OnTransferAsync(arguments[0], "accept", Direction.Incoming, (files, id) => files.AcceptAsync(id, cancellationToken));
                break;
            case "/reject" when arguments.Length >= 1:
                await OnTransferAsync(arguments[0], "reject", Direction.Incoming, (files, id) => files.RejectAsync(id, arguments.Length > 1 ? string.Join(' ', arguments[1..]) : null, cancellationToken));
                break;
            case "/cancel" when arguments.Length == 1:
                await OnTransferAsync(arguments[0], "cancel", null, (files, id) =>
                {
                    // A finished transfer has nothing to cancel: say so rather than stay silent.
                    if (files.GetTransfers().FirstOrDefault(t => t.TransferId == id) is { State: TransferState.Completed or TransferState.Failed or TransferState.Cancelled or TransferState.Rejected } done)
                    {
                        _output.Error($"/cancel: {id} is already {done.State.ToString().ToLowerInvariant()}; there is nothing to cancel.");
                        return ValueTask.CompletedTask;
                    }

                    return files.CancelAsync(id, cancellationToken);
                });
                break;
            case "/resend" when arguments.Length == 1:
                await OnTransferAsync(arguments[0], "resend", Direction.Outgoing, async (files, id) => await files.ResendAsync(id, cancellationToken));
                break;
            case "/transfers" when arguments.Length == 0:
                ShowTransfers();
                break;
            case "/history" when arguments.Length <= 1:
                await ShowHistoryAsync(arguments, cancellationToken);
                break;
            case "/send" or "/accept" or "/reject" or "/cancel" or "/resend" or "/transfers" or "/history":
                _output.Error($"{words[0]}: wrong arguments; /help shows how to use it.");
                break;
            default:
                _output.Error($"unknown command {words[0]}; /help lists the commands (start a line with // to send a slash).");
                break;
        }

        return true;
    }

    private async Task SendChatAsync(string text, CancellationToken cancellationToken)
    {
        if (Encoding.UTF8.GetByteCount(text) > _chat.MaxTextBytes)
        {
            _output.Error($"message too long: at most {_chat.MaxTextBytes} bytes; send a long text as a file with /send.");
            return;
        }

        try
        {
            _output.ChatSent(await _chat.SendAsync(text, cancellationToken: cancellationToken));
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException)
        {
            _output.Error($"not sent: {ex.Message}");
        }
    }

    private async Task SendFileAsync(string path, CancellationToken cancellationToken)
    {
        if (_files is null)
        {
            _output.Error("no file-transfer plugin is loaded (see messenger plugins).");
            return;
        }

        var full = Path.GetFullPath(path.StartsWith("~/", StringComparison.Ordinal) ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), path[2..]) : path);
        if (Directory.Exists(full))
        {
            _output.Error($"/send: {full} is a folder; /send takes files (name each one, e.g. /send \"{Path.Combine(full, "photo.jpg")}\").");
            return;
        }

        if (!File.Exists(full))
        {
            _output.Error($"/send: no file at {full}.");
            return;
        }

        try
        {
            // The offer leaves once the preview is made (a video's frame takes a moment): say so at once.
            _output.Preparing(full, new FileInfo(full).Length);
            await _files.SendFileAsync(full, new SendFileOptions { PeerId = _peer }, cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or UnauthorizedAccessException or ArgumentException)
        {
            _output.Error($"/send {Path.GetFileName(full)}: {ex.Message}");
        }
    }

    /// <summary>Runs a command on the one transfer (of <paramref name="direction"/>, when given) the id or prefix names.</summary>
    private async Task OnTransferAsync(string idOrPrefix, string verb, Direction? direction, Func<IFileTransferService, string, ValueTask> act)
    {
        if (_files is null)
        {
            _output.Error("no file-transfer plugin is loaded (see messenger plugins).");
            return;
        }

        var matches = VisibleTransfers(_files).Where(t => t.TransferId.StartsWith(idOrPrefix, StringComparison.Ordinal) && (direction is null || t.Direction == direction)).ToList();
        var exact = matches.Find(t => t.TransferId == idOrPrefix);
        if (exact is null && matches.Count != 1)
        {
            var kind = direction switch { Direction.Incoming => "incoming transfer", Direction.Outgoing => "outgoing transfer", _ => "transfer" };
            _output.Error(matches.Count == 0 ? $"/{verb}: no {kind} {idOrPrefix}; /transfers lists them." : $"/{verb}: {idOrPrefix} matches {matches.Count} transfers; type more of the id.");
            return;
        }

        try
        {
            await act(_files, (exact ?? matches[0]).TransferId);
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or ArgumentException or UnauthorizedAccessException or NotSupportedException or KeyNotFoundException)
        {
            _output.Error($"/{verb}: {ex.Message}");
        }
    }

    /// <summary>
    /// The transfers with this session's peer, and the ones whose peer a store from before contracts 1.2 did not
    /// record (listed so they can be resent); another peer's transfers are not this conversation's.
    /// </summary>
    private IEnumerable<TransferInfo> VisibleTransfers(IFileTransferService files) =>
        files.GetTransfers().Where(t => t.PeerId is null || string.Equals(t.PeerId, _peer, StringComparison.Ordinal));

    private void ShowTransfers()
    {
        var transfers = _files is null ? [] : VisibleTransfers(_files).ToList();
        if (_output.Json)
        {
            _output.Event("transfers", new JsonObject { ["transfers"] = new JsonArray([.. transfers.Select(_output.Describe)]) }, null);
            return;
        }

        if (transfers.Count == 0)
        {
            _output.Line("[grey]No transfers.[/]");
            return;
        }

        foreach (var t in transfers)
        {
            var percent = t.Size == 0 ? 100 : 100.0 * t.BytesTransferred / t.Size;
            var who = t.PeerId is null
                ? $"{(t.Direction == Direction.Incoming ? "from" : "to")} an unrecorded peer{(t.Direction == Direction.Outgoing ? $" (/resend {t.TransferId} offers it to {Markup.Escape(_output.Peer)})" : "")}"
                : $"{(t.Direction == Direction.Incoming ? "from" : "to")} {Markup.Escape(_output.Peer)}";
            _output.Line($"  {t.TransferId}  {who}  {Markup.Escape(ChatOutput.Clean(t.FileName))}  {ByteSize.Format(t.Size)}  {t.State} {percent:F0}%{(t.Reason is { } why ? "  " + Markup.Escape(ChatOutput.Clean(why)) : "")}");
        }
    }

    private async Task ShowHistoryAsync(string[] arguments, CancellationToken cancellationToken)
    {
        var limit = 20;
        if (arguments.Length == 1 && (!int.TryParse(arguments[0], NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > 10_000))
        {
            _output.Error("/history N: N is a number from 1 to 10000.");
            return;
        }

        if (_messages is null)
        {
            _output.Error("no storage plugin is loaded: history is not kept.");
            return;
        }

        var messages = new List<StoredMessage>();
        try
        {
            await foreach (var message in _messages.GetMessagesAsync(_peer, limit, cancellationToken: cancellationToken))
            {
                messages.Add(message);
            }
        }
        catch (StorageException ex)
        {
            _output.Error($"/history: the store could not be read: {ex.Message}");
            return;
        }

        if (_output.Json)
        {
            _output.Event("history", new JsonObject { ["conversation"] = _peer, ["messages"] = new JsonArray([.. messages.Select(m => HistoryCommand.Describe(m, _output.Peer))]) }, null);
            return;
        }

        _output.Line($"[bold]History with {Markup.Escape(_output.Peer)}[/] (last {messages.Count}):");
        foreach (var message in messages)
        {
            _output.Line("  " + HistoryCommand.Format(message, _output.Peer));
        }
    }

    private void Help()
    {
        if (_output.Json)
        {
            _output.Event("help", new JsonObject { ["text"] = Commands }, null);
            return;
        }

        _output.Line(Markup.Escape(Commands.TrimEnd()));
    }

    private void OnChat(object? sender, ChatEvent chatEvent) => _output.Chat(chatEvent);

    private void OnTransfer(object? sender, TransferEvent transferEvent)
    {
        _output.Transfer(transferEvent);
        if (_autoAccept && transferEvent is TransferOffered { Transfer: { Direction: Direction.Incoming, State: TransferState.Offered } offer } && _files is { } files)
        {
            Track(AcceptAsync(files, offer.TransferId));
        }
    }

    private async Task AcceptAsync(IFileTransferService files, string transferId)
    {
        try
        {
            await files.AcceptAsync(transferId);
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException)
        {
            _output.Error($"could not accept {transferId}: {ex.Message}");
        }
    }

    private void Track(Task task)
    {
        lock (_background)
        {
            _background.RemoveAll(t => t.IsCompleted);
            _background.Add(task);
        }
    }
}
