using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Messenger.Contracts.Chat;
using Messenger.Contracts.FileTransfer;
using Messenger.Contracts.Storage;
using Spectre.Console;

namespace Messenger.Cli.Output;

/// <summary>
/// What the chat prints: one JSON object per line with <c>--json</c>, otherwise text for a person (Spectre.Console
/// progress bars on a terminal, plain progress lines when output is redirected or NO_COLOR is set). Writes are
/// serialised: events arrive on the transport's threads while the input task prints command results.
/// </summary>
internal sealed class ChatOutput
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, int> _plainSteps = new(StringComparer.Ordinal);
    private readonly TransferBars? _bars;

    public ChatOutput(bool json, string peer, TimeProvider time)
    {
        Json = json;
        Peer = Clean(peer);
        _bars = !json && AnsiConsole.Profile.Capabilities.Interactive && AnsiConsole.Profile.Capabilities.Ansi ? new TransferBars(time) : null;
    }

    public bool Json { get; }

    /// <summary>The peer's name as shown (known for sure only once connected).</summary>
    public string Peer { get; set; }

    /// <summary>Removes control characters (terminal escapes) from text that came from the peer or the disk.</summary>
    public static string Clean(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            builder.Append(IsUnsafe(c) ? '\uFFFD' : c);
        }

        return builder.ToString();
    }

    /// <summary>
    /// Control characters (terminal escapes) and format characters (bidi overrides that make a name read differently
    /// from what it is): never shown, never part of a file name, when they came from a peer.
    /// </summary>
    public static bool IsUnsafe(char c) => char.IsControl(c) || char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.Format;

    public void Event(string name, JsonObject fields, string? human)
    {
        if (Json)
        {
            var line = new JsonObject { ["event"] = name };
            foreach (var (key, value) in fields.ToArray())
            {
                fields.Remove(key);
                line[key] = value;
            }

            lock (_gate)
            {
                Console.Out.WriteLine(line.ToJsonString());
            }
        }
        else if (human is not null)
        {
            Line(human);
        }
    }

    /// <summary>A line of Spectre markup for a person; ignored with --json.</summary>
    public void Line(string markup)
    {
        if (Json)
        {
            return;
        }

        lock (_gate)
        {
            AnsiConsole.MarkupLine(markup);
        }
    }

    public void Error(string message) => Event("error", new JsonObject { ["message"] = message }, $"[red]{Markup.Escape(Clean(message))}[/]");

    /// <summary>The names of the profile's contacts by peer id, for transfers with other peers than this one.</summary>
    public IReadOnlyDictionary<string, string> ContactNames { get; set; } = new Dictionary<string, string>();

    /// <summary>The name a peer id is shown under: this session's peer, a contact, else the id itself.</summary>
    public string NameOf(string peerId) =>
        peerId == PeerId ? Peer : ContactNames.TryGetValue(peerId, out var name) ? Clean(name) : peerId;

    /// <summary>The peer's id (its certificate fingerprint), once connected.</summary>
    public string? PeerId { get; set; }

    /// <summary>True when a pairing code proved the peer's identity on this connection.</summary>
    public bool Paired { get; set; }

    /// <summary>How the peer matched the contacts.</summary>
    public ContactMatch Match { get; set; } = ContactMatch.Pinned;

    public void Connected(PeerLink link)
    {
        var code = PeerId is null ? null : ProfileIdentity.SafetyCodeOfPeerId(PeerId);
        var contact = Match switch
        {
            ContactMatch.Known => "known",
            ContactMatch.Repinned => "repinned",
            _ => "pinned",
        };
        var note = Match switch
        {
            ContactMatch.Known => "",
            ContactMatch.Repinned => $" [yellow]Re-pinned {Markup.Escape(Peer)} to this new identity[/] (safety code {code}).",
            _ when Paired => $" The pairing code matched: pinned as {Markup.Escape(Peer)} (safety code {code}).",
            _ => $" First meeting: pinned as {Markup.Escape(Peer)}, safety code {code} (compare it with what [bold]messenger whoami[/] prints on their side, or pair with --code next time).",
        };
        Event(
            "connected",
            new JsonObject
            {
                ["peer"] = Peer,
                ["peerId"] = PeerId,
                ["safetyCode"] = code,
                ["contact"] = contact,
                ["paired"] = Paired,
                ["role"] = link.IsOfferer ? "offerer" : "answerer",
                ["connectMilliseconds"] = Math.Round(link.ConnectTime.TotalMilliseconds, 1),
            },
            $"[green]Connected[/] to {Markup.Escape(Peer)} in {link.ConnectTime.TotalMilliseconds:F0} ms.{note} Type to chat; [bold]/help[/] lists the commands.");
    }

    public void Chat(ChatEvent chatEvent)
    {
        switch (chatEvent)
        {
            case ChatMessageReceived { Message: var m }:
                Event(
                    "chat-received",
                    new JsonObject { ["id"] = m.MessageId, ["text"] = m.Text, ["sentAt"] = m.SentAt.ToString("O", CultureInfo.InvariantCulture) },
                    $"[blue]{Markup.Escape(Peer)}[/]: {Markup.Escape(Clean(m.Text))}");
                break;
            case ChatMessageRefused r:
                Event("chat-refused", new JsonObject { ["id"] = r.MessageId, ["reason"] = r.Reason }, $"[yellow]{Markup.Escape(Peer)} did not take your message[/]: {Markup.Escape(Clean(r.Reason))}");
                break;
            case ChatMessageDelivered d:
                Event("chat-delivered", new JsonObject { ["id"] = d.MessageId, ["roundTripMilliseconds"] = Math.Round(d.RoundTrip.TotalMilliseconds, 2) }, null);
                break;
        }
    }

    public void ChatSent(ChatMessage message) =>
        Event("chat-sent", new JsonObject { ["id"] = message.MessageId, ["text"] = message.Text }, null);

    /// <summary>A file is being prepared for its offer (media type, preview): shown before the offer goes.</summary>
    public void Preparing(string path, long size) =>
        Event(
            "preparing",
            new JsonObject { ["work"] = "offer", ["path"] = path, ["name"] = Path.GetFileName(path), ["size"] = size },
            $"[grey]Preparing {Markup.Escape(Clean(Path.GetFileName(path)))} ({ByteSize.Format(size)}) for its offer…[/]");

    public void Transfer(TransferEvent transferEvent)
    {
        var t = transferEvent.Transfer;
        var name = Markup.Escape(Clean(t.FileName));
        _bars?.Update(transferEvent);
        switch (transferEvent)
        {
            case TransferOffered when t.Direction == Direction.Incoming:
                Event("transfer-offered", Describe(t), $"{Markup.Escape(Peer)} offers [bold]{name}[/] ({ByteSize.Format(t.Size)}, {Markup.Escape(Clean(t.MediaType))}, {Markup.Escape(PreviewText(t))}) — [bold]/accept {t.TransferId}[/] or /reject {t.TransferId}");
                break;
            case TransferOffered:
                Event("transfer-offered", Describe(t), $"Offering [bold]{name}[/] ({ByteSize.Format(t.Size)}, {Markup.Escape(t.MediaType)}) as {t.TransferId}; waiting for {Markup.Escape(Peer)} to accept");
                break;
            case TransferPreparing p:
                Event(
                    "preparing",
                    Describe(t).With("work", "checking-resumed-prefix").With("done", p.BytesDone).With("total", p.BytesTotal),
                    p.BytesDone == 0
                        ? $"[grey]{name}: checking the {ByteSize.Format(p.BytesTotal)} {(t.Direction == Direction.Incoming ? "already received" : "already sent")} before resuming…[/]"
                        : p.BytesDone == p.BytesTotal ? $"[grey]{name}: {ByteSize.Format(p.BytesTotal)} checked[/]" : null);
                break;
            case TransferStarted s:
                Event("transfer-started", Describe(t).With("resumedFrom", s.ResumedFrom), s.ResumedFrom > 0 ? $"{name}: resuming at {ByteSize.Format(s.ResumedFrom)}" : null);
                break;
            case TransferProgressed { Progress: var p }:
                Event(
                    "transfer-progress",
                    new JsonObject { ["id"] = t.TransferId, ["direction"] = DirectionName(t), ["bytes"] = p.BytesTransferred, ["total"] = p.TotalBytes, ["bytesPerSecond"] = Math.Round(p.AverageBytesPerSecond) },
                    _bars is null ? PlainProgress(t, p) : null);
                break;
            case TransferCompleted:
                lock (_gate)
                {
                    _plainSteps.Remove(t.TransferId);
                }

                Event(
                    "transfer-completed",
                    Describe(t),
                    t.Direction == Direction.Incoming
                        ? $"[green]Received[/] {name} ({ByteSize.Format(t.Size)}), SHA-256 verified; save it with [bold]messenger export {t.TransferId} PATH[/]"
                        : $"[green]Sent[/] {name} ({ByteSize.Format(t.Size)}); {Markup.Escape(Peer)} verified it");
                break;
            case TransferFailed:
                Event("transfer-failed", Describe(t), $"[red]Transfer of {name} failed[/]: {Markup.Escape(Clean(t.Reason ?? "no reason given"))}");
                break;
            case TransferCancelled c:
                Event("transfer-cancelled", Describe(t).With("byPeer", c.ByPeer), $"[yellow]{name} cancelled[/]{(c.ByPeer ? $" by {Markup.Escape(Peer)}" : "")}");
                break;
            case TransferRejected r:
                Event("transfer-rejected", Describe(t).With("byPeer", r.ByPeer), $"[yellow]{name} rejected[/]{(r.ByPeer ? $" by {Markup.Escape(Peer)}" : "")}{(t.Reason is { } why ? ": " + Markup.Escape(Clean(why)) : "")}");
                break;
            case TransferPaused:
                Event("transfer-paused", Describe(t), $"{name} paused at {ByteSize.Format(t.BytesTransferred)}; it resumes when you reconnect");
                break;
        }
    }

    /// <summary>Waits (bounded) until the progress display has drawn its last frame.</summary>
    public Task FlushAsync() => _bars?.StopAsync() ?? Task.CompletedTask;

    public JsonObject Describe(TransferInfo t)
    {
        var fields = new JsonObject
        {
            ["id"] = t.TransferId,
            ["direction"] = DirectionName(t),
            ["name"] = t.FileName,
            ["size"] = t.Size,
            ["mediaType"] = t.MediaType,
            ["state"] = t.State.ToString(),
            ["bytes"] = t.BytesTransferred,
            ["peer"] = t.PeerId is { } id ? NameOf(id) : null,
            ["peerId"] = t.PeerId,
        };
        if (t.Preview is { } p)
        {
            fields["preview"] = new JsonObject
            {
                ["mediaType"] = p.ThumbnailMediaType,
                ["width"] = p.Width,
                ["height"] = p.Height,
                ["bytes"] = p.Thumbnail.Length,
                ["sourceMediaType"] = p.SourceMediaType,
                ["sourceWidth"] = p.SourceWidth,
                ["sourceHeight"] = p.SourceHeight,
                ["durationSeconds"] = p.Duration?.TotalSeconds,
            };
        }

        if (t.FileId is { } fileId)
        {
            fields["fileId"] = fileId;
        }

        if (t.Reason is { } reason)
        {
            fields["reason"] = reason;
        }

        return fields;
    }

    public static string PreviewText(TransferInfo t) => t.Preview is { } p
        ? $"preview {p.Width}×{p.Height} {Clean(p.ThumbnailMediaType)} of a {p.SourceWidth}×{p.SourceHeight} {Clean(p.SourceMediaType)}{(p.Duration is { } d ? $", {d.TotalSeconds:F1} s" : "")}"
        : "no preview";

    private static string DirectionName(TransferInfo t) => t.Direction == Direction.Incoming ? "incoming" : "outgoing";

    // Plain output: one line per tenth, so a log shows progress without a line per chunk.
    private string? PlainProgress(TransferInfo t, TransferProgress p)
    {
        var step = (int)Math.Min(10, p.Percentage / 10);
        lock (_gate)
        {
            if (_plainSteps.TryGetValue(t.TransferId, out var last) && last >= step)
            {
                return null;
            }

            _plainSteps[t.TransferId] = step;
        }

        var bar = new string('#', step) + new string('.', 10 - step);
        return $"  [[{bar}]] {p.Percentage,3:F0}% {Markup.Escape(Clean(t.FileName))} {ByteSize.Format(p.BytesTransferred)} of {ByteSize.Format(p.TotalBytes)}, {p.AverageBytesPerSecond / 1e6:F1} MB/s";
    }
}

/// <summary>Small helpers for building event objects.</summary>
internal static class JsonObjectExtensions
{
    public static JsonObject With(this JsonObject fields, string name, JsonNode? value)
    {
        fields[name] = value;
        return fields;
    }
}
