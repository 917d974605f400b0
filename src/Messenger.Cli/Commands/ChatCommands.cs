using System.CommandLine;
using System.Net;
using System.Text.Json.Nodes;
using Messenger.Contracts.Storage;
using Messenger.Transport.Dtls;
using Messenger.Transport.Pairing;
using Messenger.Transport.Signaling;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Spectre.Console;

namespace Messenger.Cli.Commands;

/// <summary>
/// <c>messenger offer</c>, <c>messenger answer</c> (copy-paste connection codes) and <c>messenger connect</c> (through
/// the signaling relay): each opens the profile's store, connects to the peer, then runs the <see cref="ChatSession"/>.
/// </summary>
internal static class ChatCommands
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(30);

    public static IEnumerable<Command> Create(Option<FileInfo?> pluginsOption)
    {
        yield return Offer(pluginsOption);
        yield return Answer(pluginsOption);
        yield return Connect(pluginsOption);
    }

    private static Command Offer(Option<FileInfo?> pluginsOption)
    {
        var common = new CommonOptions();
        var command = new Command("offer", "Start a chat by copy-paste: print your offer code, read the answer code the other person pastes back (stdin), then chat.");
        common.AddTo(command);
        command.SetAction((parse, cancellationToken) => common.RunAsync(parse, pluginsOption, (output, certificate, ct) => PeerLink.OfferAsync(
            common.Bind(parse),
            certificate,
            code => ShowCode(output, "offer-code", code, "Your offer code; give it to the other person, who runs [bold]messenger answer[/] and pastes it:", "Paste their answer code and press Enter:"),
            ReadCodeAsync,
            ConnectTimeout,
            TimeProvider.System,
            ct), cancellationToken));
        return command;
    }

    private static Command Answer(Option<FileInfo?> pluginsOption)
    {
        var common = new CommonOptions();
        var command = new Command("answer", "Join a chat by copy-paste: read the offer code (stdin), print your answer code for the other person to paste, then chat.");
        common.AddTo(command);
        command.SetAction((parse, cancellationToken) => common.RunAsync(parse, pluginsOption, (output, certificate, ct) =>
        {
            if (!output.Json)
            {
                AnsiConsole.MarkupLine("Paste the offer code from [bold]messenger offer[/] and press Enter:");
            }

            return PeerLink.AnswerAsync(
                common.Bind(parse),
                certificate,
                code => ShowCode(output, "answer-code", code, "Your answer code; give it to the other person to paste:", "Connecting…"),
                ReadCodeAsync,
                ConnectTimeout,
                TimeProvider.System,
                ct);
        }, cancellationToken));
        return command;
    }

    private static Command Connect(Option<FileInfo?> pluginsOption)
    {
        var roomOption = new Option<string?>("--room") { Description = "The room both peers name (1-64 printable characters); agree on it out of band. With a pairing code and no room, the code's number names the room." };
        var relayOption = new Option<string>("--relay") { Description = "The signaling relay (messenger signal) as HOST:PORT.", DefaultValueFactory = _ => "127.0.0.1:7000" };
        var common = new CommonOptions();
        var command = new Command("connect", "Chat through a signaling relay: both peers join the same room; the second to arrive offers.") { roomOption, relayOption };
        common.AddTo(command);
        command.SetAction((parse, cancellationToken) =>
        {
            var room = parse.GetValue(roomOption) ?? (common.Code(parse) is { } code
                ? "pair-" + code.Nameplate.ToString(System.Globalization.CultureInfo.InvariantCulture)
                : throw new CliException("connect needs --room NAME, or a pairing code (--code CODE or --new-code) whose number names the room."));
            var (host, port) = ParseRelay(parse.GetValue(relayOption)!);
            if (room.Length is 0 or > 64 || room.Any(char.IsControl))
            {
                throw new CliException("--room: a room name has 1 to 64 printable characters.");
            }

            return common.RunAsync(parse, pluginsOption, async (output, certificate, ct) =>
            {
                // Waiting for the other peer has no limit, so /quit and the end of input end it too (once the room is
                // joined: a relay that cannot be reached still says so); lines typed meanwhile are kept for the chat.
                using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
                var joined = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                var connecting = PeerLink.ConnectAsync(common.Bind(parse), certificate, host, port, room, ConnectTimeout, TimeProvider.System, stop.Token, () =>
                {
                    output.Event(
                        "waiting",
                        new JsonObject { ["room"] = room, ["relay"] = $"{host}:{port}" },
                        $"[grey]Joined room {Markup.Escape(room)} at {Markup.Escape(host)}:{port}; waiting for the other peer… (/quit stops)[/]");
                    joined.TrySetResult();
                });
                var quit = WatchForQuitOnceJoinedAsync(joined.Task, stop.Token);
                if (await Task.WhenAny(connecting, quit) == quit && quit.IsCompletedSuccessfully)
                {
                    await stop.CancelAsync();
                    try
                    {
                        await (await connecting).DisposeAsync(); // it connected just as the user quit
                    }
                    catch (Exception ex) when (ex is not OutOfMemoryException)
                    {
                        // Stopped while waiting (cancelled, or the relay went away meanwhile): nothing to close.
                    }

                    throw new QuitBeforeConnectedException();
                }

                await stop.CancelAsync(); // ends the input watch; the lines it kept stay for the chat
                try
                {
                    await quit;
                }
                catch (OperationCanceledException)
                {
                    // The watch was cancelled, as meant.
                }

                return await connecting;
            }, cancellationToken, reconnect: true);
        });
        return command;
    }

    private static async Task WatchForQuitOnceJoinedAsync(Task joined, CancellationToken cancellationToken)
    {
        await joined.WaitAsync(cancellationToken);
        await ConsoleLines.Instance.WaitForQuitAsync(cancellationToken);
    }

    private static (string Host, int Port) ParseRelay(string text)
    {
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text[(colon + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            throw new CliException($"--relay: '{text}' is not HOST:PORT (e.g. 127.0.0.1:7000).");
        }

        return (text[..colon].Trim('[', ']'), port);
    }

    private static Task ShowCode(ChatOutput output, string eventName, string code, string before, string after)
    {
        if (output.Json)
        {
            output.Event(eventName, new JsonObject { ["code"] = code }, null);
        }
        else
        {
            AnsiConsole.MarkupLine(before);
            Console.Out.WriteLine(code); // plain, unwrapped: it is copied
            AnsiConsole.MarkupLine(after);
        }

        return Task.CompletedTask;
    }

    private static async Task<string?> ReadCodeAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var line = await ConsoleLines.Instance.ReadLineAsync(cancellationToken);
            if (line is null || line.Trim().Length > 0)
            {
                return line?.Trim();
            }
        }
    }

    /// <summary>The options offer, answer and connect share, and the run they share.</summary>
    private sealed class CommonOptions
    {
        private readonly StoreProfile.Options _profile = new();

        private readonly Option<bool> _json = new("--json")
        {
            Description = "Print one JSON object per line per event (connected, chat-received, chat-delivered, transfer-offered/progress/completed/failed, disconnected); commands are still read from stdin.",
        };

        private readonly Option<bool> _autoAccept = new("--auto-accept") { Description = "Accept every incoming file without asking." };

        private readonly Option<string?> _peer = new("--peer")
        {
            Description = "The contact name for this peer. The first connection pins the peer's identity (its certificate fingerprint) under it; later connections find the conversation by that identity, and a peer presenting another identity under this name is refused (exit code 6). Default: the pinned name of a known peer, else a name made from its fingerprint.",
        };

        private readonly Option<bool> _repin = new("--repin")
        {
            Description = "Let the --peer name move to the identity this peer presents (after they started a new profile; compare safety codes first).",
        };

        private readonly Option<string?> _code = new("--code")
        {
            Description = "A one-time pairing code both people use (such as 7-kettle-orbit, from --new-code on the other side): the connection goes ahead only if both typed the same code and nobody sits between them (exit code 6 otherwise). Needed the first time; pinned contacts need none.",
        };

        private readonly Option<bool> _newCode = new("--new-code")
        {
            Description = "Make a new one-time pairing code, print it, and use it (give it to the other person, who passes it with --code).",
        };

        private PairingCode? _generated;

        private readonly Option<string> _bind = new("--bind")
        {
            Description = "The local address for the peer-to-peer UDP socket (0.0.0.0: every interface; 127.0.0.1: this machine only).",
            DefaultValueFactory = _ => "0.0.0.0",
        };

        public void AddTo(Command command)
        {
            command.Options.Add(_json);
            command.Options.Add(_autoAccept);
            command.Options.Add(_peer);
            command.Options.Add(_repin);
            command.Options.Add(_code);
            command.Options.Add(_newCode);
            command.Options.Add(_bind);
            _profile.AddTo(command);
        }

        /// <summary>The pairing code given or made for this run, or null.</summary>
        public PairingCode? Code(ParseResult parse)
        {
            if (parse.GetValue(_newCode))
            {
                return parse.GetValue(_code) is not null
                    ? throw new CliException("Give either --code CODE or --new-code, not both.")
                    : _generated ??= PairingCode.Generate();
            }

            if (parse.GetValue(_code) is not { } text)
            {
                return null;
            }

            try
            {
                return PairingCode.Parse(text);
            }
            catch (FormatException ex)
            {
                throw new CliException($"--code: {ex.Message}");
            }
        }

        /// <summary>The profile record that marks a pairing code as used (a hash: the code itself is not kept).</summary>
        private static string UsedCodeKey(PairingCode code) =>
            "pairing-used/" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(code.Text)))[..32];

        public IPAddress Bind(ParseResult parse) =>
            IPAddress.TryParse(parse.GetValue(_bind), out var address) ? address : throw new CliException($"--bind: '{parse.GetValue(_bind)}' is not an IP address.");

        /// <param name="reconnect">
        /// True for <c>connect</c>: a connection lost to a peer that stopped answering is made again through the relay
        /// (the same identity only), with backoff, until the peer returns or the user quits; transfers resume.
        /// </param>
        public async Task<int> RunAsync(ParseResult parse, Option<FileInfo?> pluginsOption, Func<ChatOutput, DtlsCertificate, CancellationToken, Task<PeerLink>> connect, CancellationToken cancellationToken, bool reconnect = false)
        {
            _ = Bind(parse);
            var named = parse.GetValue(_peer) is { } given ? ContactBook.CheckName(given, "--peer") : null;
            var repin = parse.GetValue(_repin);
            if (repin && named is null)
            {
                throw new CliException("--repin needs --peer NAME: the contact whose identity may change.");
            }

            var code = Code(parse);
            var profile = StoreProfile.Resolve(parse, _profile, CliPaths.ResolvePluginsFile(parse.GetValue(pluginsOption)));
            using IHost host = profile.OpenHost();
            var output = new ChatOutput(parse.GetValue(_json), named ?? "peer", TimeProvider.System);
            if (parse.GetValue(_newCode) && code is not null)
            {
                output.Event(
                    "pairing-code",
                    new JsonObject { ["code"] = code.Text },
                    $"Your pairing code: [bold]{code.Text}[/] (give it to the other person; they add [bold]--code {code.Text}[/]). It is good for this connection only.");
            }

            var records = host.Services.GetServices<IProfileStore>().LastOrDefault();
            var identity = await ProfileIdentity.LoadOrCreateAsync(records, TimeProvider.System, cancellationToken);
            if (!identity.IsKept)
            {
                output.Line("[yellow]The store plugin keeps no profile records: this run has a new identity, and peers are not pinned.[/]");
            }

            if (code is not null && records is not null && await records.GetRecordAsync(UsedCodeKey(code), cancellationToken) is not null)
            {
                throw new CliException($"The pairing code {code} was used before, and a code is good for one attempt: ask for a new one (--new-code on the other side).");
            }

            PeerLink connected;
            try
            {
                connected = await connect(output, identity.Certificate, cancellationToken);
            }
            catch (QuitBeforeConnectedException)
            {
                output.Event("disconnected", new JsonObject { ["reason"] = "you quit before the peer arrived" }, "Stopped waiting: you quit before the peer arrived.");
                return ExitCodes.Ok;
            }

            await using var link = connected;

            // The peer id keys the history and every transfer (which resumes only with the same id): the SHA-256 of the
            // certificate the peer proved in the DTLS handshake (whatever hash its SDP used), never a typed label
            // another person could also be given.
            var remote = link.Connection.RemoteCertificateFingerprint ?? throw new PeerLinkException("The connection opened without a checked peer certificate.");
            if (code is not null)
            {
                // Before anything else crosses the channel: the code must prove both fingerprints. A code is good for
                // one attempt: whoever sits in the middle gets one guess per code, so a used one is never taken again.
                output.Line("[grey]Checking the pairing code…[/]");
                try
                {
                    await PairingHandshake.RunAsync(link.Channel, code, link.IsOfferer, identity.Certificate.Fingerprint, remote, PairingHandshake.DefaultTimeout, TimeProvider.System, cancellationToken);
                }
                finally
                {
                    if (records is not null)
                    {
                        await records.SetRecordAsync(UsedCodeKey(code), System.Text.Encoding.UTF8.GetBytes(TimeProvider.System.GetUtcNow().ToString("O", System.Globalization.CultureInfo.InvariantCulture)), CancellationToken.None);
                    }
                }

                output.Paired = true;
            }

            var peerId = ProfileIdentity.PeerIdOf(remote);
            var name = named ?? ContactBook.DefaultName(peerId);
            var match = ContactMatch.Pinned;
            if (records is not null)
            {
                var book = new ContactBook(records);
                (var contact, match) = await book.ResolveAsync(named, peerId, repin, TimeProvider.System.GetUtcNow(), cancellationToken);
                name = contact.Name;
                output.ContactNames = (await book.ListAsync(cancellationToken)).ToDictionary(c => c.PeerId, c => c.Name);
            }

            output.Peer = ChatOutput.Clean(name);
            output.PeerId = peerId;
            output.Match = match;
            var current = link;
            while (true)
            {
                var session = new ChatSession(host, current, output, peerId, parse.GetValue(_autoAccept), GiveUpAfter);
                var exit = await session.RunAsync(ConsoleLines.Instance, cancellationToken);
                if (!ReferenceEquals(current, link))
                {
                    await current.DisposeAsync();
                }

                if (!session.ConnectionLost)
                {
                    return exit;
                }

                if (!reconnect)
                {
                    output.Event(
                        "how-to-resume",
                        new JsonObject { ["peer"] = output.Peer },
                        $"[grey]Transfers with {Markup.Escape(output.Peer)} are paused. To resume them, connect again: run [bold]messenger offer[/] and [bold]messenger answer[/] again (or [bold]messenger connect --peer NAME[/] on both sides): they go on from what was stored.[/]");
                    return ExitCodes.ConnectionFailed;
                }

                if (await ReconnectAsync(output, identity.Certificate, peerId, connect, cancellationToken) is not { } again)
                {
                    return ExitCodes.Ok; // the user quit while waiting
                }

                current = again;
                output.Match = ContactMatch.Known;
            }
        }

        /// <summary>How long a Disconnected peer may stay silent before <c>connect</c> gives up on the connection and reconnects.</summary>
        private static readonly TimeSpan GiveUpAfter = TimeSpan.FromSeconds(6);

        /// <summary>The waits between failed attempts to reconnect (then the last, repeated).</summary>
        private static readonly TimeSpan[] Backoff = [TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(8), TimeSpan.FromSeconds(16), TimeSpan.FromSeconds(30)];

        /// <summary>
        /// Joins the room again and waits for the same peer (its pinned identity), trying again with backoff when the
        /// relay cannot be reached or the connection fails; null when the user quit (or the input ended) meanwhile.
        /// </summary>
        private static async Task<PeerLink?> ReconnectAsync(ChatOutput output, DtlsCertificate certificate, string peerId, Func<ChatOutput, DtlsCertificate, CancellationToken, Task<PeerLink>> connect, CancellationToken cancellationToken)
        {
            for (var attempt = 1; ; attempt++)
            {
                output.Event(
                    "reconnecting",
                    new JsonObject { ["peer"] = output.Peer, ["attempt"] = attempt },
                    $"[grey]Reconnecting to {Markup.Escape(output.Peer)} (attempt {attempt}); transfers resume when it is back. /quit stops.[/]");
                PeerLink link;
                try
                {
                    link = await connect(output, certificate, cancellationToken);
                }
                catch (QuitBeforeConnectedException)
                {
                    SayQuit(output);
                    return null;
                }
                catch (Exception ex) when (ex is PeerLinkException or SignalingException)
                {
                    var wait = Backoff[Math.Min(attempt, Backoff.Length) - 1];
                    output.Error($"reconnecting: {ex.Message}; trying again in {wait.TotalSeconds:0} s");
                    if (await WaitOrQuitAsync(wait, cancellationToken))
                    {
                        SayQuit(output);
                        return null;
                    }

                    continue;
                }

                // Only the peer this conversation is with: whoever else joins the room is refused, never talked to.
                var remote = link.Connection.RemoteCertificateFingerprint is { } fingerprint ? ProfileIdentity.PeerIdOf(fingerprint) : null;
                if (remote == peerId)
                {
                    return link;
                }

                await link.DisposeAsync();
                throw new IdentityMismatchException($"Someone else joined the room while waiting for {output.Peer}: safety code {(remote is null ? "unknown" : ProfileIdentity.SafetyCodeOfPeerId(remote))}, not {ProfileIdentity.SafetyCodeOfPeerId(peerId)}. Nothing was exchanged.");
            }
        }

        private static void SayQuit(ChatOutput output) =>
            output.Event("disconnected", new JsonObject { ["reason"] = "you quit while waiting for the peer to come back" }, "Stopped waiting: you quit while waiting for the peer to come back.");

        /// <summary>Waits <paramref name="wait"/>; true when the user typed /quit or the input ended first.</summary>
        private static async Task<bool> WaitOrQuitAsync(TimeSpan wait, CancellationToken cancellationToken)
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var quit = ConsoleLines.Instance.WaitForQuitAsync(stop.Token);
            var waited = Task.Delay(wait, TimeProvider.System, stop.Token);
            var first = await Task.WhenAny(quit, waited);
            await stop.CancelAsync();
            try
            {
                await Task.WhenAll(quit, waited);
            }
            catch (OperationCanceledException)
            {
                // The one that lost the race was cancelled, as meant.
            }

            cancellationToken.ThrowIfCancellationRequested();
            return first == quit;
        }
    }
}

/// <summary>The user quit (or the input ended) while <c>connect</c> waited for the peer.</summary>
internal sealed class QuitBeforeConnectedException : Exception
{
    public QuitBeforeConnectedException()
        : base("you quit before the peer arrived")
    {
    }
}
