using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Messenger.Contracts.Storage;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace Messenger.Cli.Commands;

/// <summary>
/// <c>messenger history</c>: the stored conversations, decrypted, oldest first: the messages, and the files sent and
/// received in them, each with its id (what <c>messenger export</c> and <c>messenger files</c> take).
/// </summary>
internal static class HistoryCommand
{
    public static Command Create(Option<FileInfo?> pluginsOption, StoreProfile.Options profileOptions)
    {
        var conversationOption = new Option<string?>("--conversation") { Description = "Only this conversation: a contact's name (see messenger contacts) or a conversation id." };
        var limitOption = new Option<int>("--limit") { Description = "The last N messages and files of each conversation.", DefaultValueFactory = _ => 50 };
        var jsonOption = new Option<bool>("--json") { Description = "One JSON object per message or file (\"kind\": \"message\" or \"file\")." };
        var command = new Command("history", "Show the stored chat history, messages and files, oldest first (decrypted from your profile's store).") { conversationOption, limitOption, jsonOption };
        profileOptions.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var limit = parse.GetValue(limitOption);
            if (limit is < 1 or > 1_000_000)
            {
                throw new CliException("--limit must be between 1 and 1000000.");
            }

            var profile = StoreProfile.Resolve(parse, profileOptions, CliPaths.ResolvePluginsFile(parse.GetValue(pluginsOption)));
            using var host = profile.OpenHost();
            var store = host.Services.GetServices<IMessageStore>().LastOrDefault()
                ?? throw new CliException("No storage plugin is loaded (see messenger plugins): there is no history.");
            var json = parse.GetValue(jsonOption);

            // Conversations are filed under the peer's identity; the contacts give them their names.
            var contacts = await ContactBook.ListKeptAsync(host, cancellationToken);
            string NameOf(string conversation) => ContactBook.NameOf(contacts, conversation) ?? conversation;
            // Files are filed by the peer they were with (records from before schema 3: by their conversation).
            var files = new Dictionary<string, List<TransferRecord>>(StringComparer.Ordinal);
            await foreach (var record in store.GetTransfersAsync(cancellationToken))
            {
                var key = record.PeerId ?? record.ConversationId;
                if (!files.TryGetValue(key, out var list))
                {
                    files[key] = list = [];
                }

                list.Add(record);
            }

            var conversations = new List<string>();
            if (parse.GetValue(conversationOption) is { } only)
            {
                conversations.Add(ContactBook.ConversationOf(contacts, only));
            }
            else
            {
                await foreach (var summary in store.GetConversationsAsync(cancellationToken))
                {
                    conversations.Add(summary.ConversationId);
                }

                conversations.AddRange(files.Keys.Where(k => !conversations.Contains(k)).Order(StringComparer.Ordinal));
            }

            if (conversations.Count == 0 && !json)
            {
                AnsiConsole.MarkupLine($"[grey]No messages or files stored in {Markup.Escape(profile.Folder)}.[/]");
            }

            foreach (var conversation in conversations)
            {
                if (!json)
                {
                    AnsiConsole.MarkupLine($"[bold]Conversation with {Markup.Escape(ChatOutput.Clean(NameOf(conversation)))}[/]");
                }

                var messages = new List<StoredMessage>();
                await foreach (var message in store.GetMessagesAsync(conversation, limit, cancellationToken: cancellationToken))
                {
                    messages.Add(message);
                }

                // A file attached to a shown message is named on that message's line; the others get lines of their own.
                var attached = messages.Select(m => m.AttachmentTransferId).OfType<string>().ToHashSet(StringComparer.Ordinal);
                var timeline = messages.Select(m => (At: m.SentAt, Message: (StoredMessage?)m, File: (TransferRecord?)null))
                    .Concat(files.GetValueOrDefault(conversation, []).Where(f => !attached.Contains(f.TransferId)).Select(f => (At: f.CreatedAt, Message: (StoredMessage?)null, File: (TransferRecord?)f)))
                    .OrderBy(e => e.At)
                    .TakeLast(limit);
                var peer = NameOf(conversation);
                foreach (var (_, message, file) in timeline)
                {
                    if (json)
                    {
                        Console.Out.WriteLine((message is not null ? Describe(message, peer) : Describe(file!, peer)).ToJsonString());
                    }
                    else
                    {
                        AnsiConsole.MarkupLine("  " + (message is not null ? Format(message, ChatOutput.Clean(peer)) : Format(file!, ChatOutput.Clean(peer))));
                    }
                }
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>One message as JSON; <paramref name="peer"/> is the name its conversation is shown under.</summary>
    public static JsonObject Describe(StoredMessage message, string peer) => new()
    {
        ["kind"] = "message",
        ["conversation"] = message.ConversationId,
        ["peer"] = peer,
        ["id"] = message.MessageId,
        ["direction"] = message.Direction == Direction.Incoming ? "incoming" : "outgoing",
        ["sentAt"] = message.SentAt.ToString("O", CultureInfo.InvariantCulture),
        ["text"] = message.Text,
        ["deliveredAt"] = message.DeliveredAt?.ToString("O", CultureInfo.InvariantCulture),
        ["attachment"] = message.AttachmentTransferId,
    };

    /// <summary>One file of a conversation as JSON.</summary>
    public static JsonObject Describe(TransferRecord file, string peer) => new()
    {
        ["kind"] = "file",
        ["conversation"] = file.PeerId ?? file.ConversationId,
        ["peer"] = peer,
        ["id"] = file.TransferId,
        ["shortId"] = FilesCommand.ShortId(file.TransferId),
        ["direction"] = file.Direction == Direction.Incoming ? "incoming" : "outgoing",
        ["sentAt"] = file.CreatedAt.ToString("O", CultureInfo.InvariantCulture),
        ["name"] = file.FileName,
        ["size"] = file.Size,
        ["state"] = file.State.ToString(),
    };

    /// <summary>One file's line of Spectre markup: who sent what, how it ended, and how to get it out.</summary>
    public static string Format(TransferRecord file, string peer)
    {
        var id = Markup.Escape(FilesCommand.ShortId(file.TransferId));
        var export = file.Direction == Direction.Incoming && file.State == TransferState.Completed ? $": messenger export {id} PATH" : "";
        return $"[grey]{file.CreatedAt.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)}[/] "
            + (file.Direction == Direction.Incoming ? $"[blue]{Markup.Escape(peer)}[/] sent" : "[green]you[/] sent")
            + $" [bold]{Markup.Escape(ChatOutput.Clean(file.FileName))}[/] ({ByteSize.Format(file.Size)}) [grey](file {id}, {file.State.ToString().ToLowerInvariant()}{export})[/]";
    }

    /// <summary>One line of Spectre markup.</summary>
    public static string Format(StoredMessage message, string peer) =>
        $"[grey]{message.SentAt.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)}[/] "
        + (message.Direction == Direction.Incoming ? $"[blue]{Markup.Escape(peer)}[/]" : "[green]you[/]")
        + $": {Markup.Escape(ChatOutput.Clean(message.Text))}"
        + (message.AttachmentTransferId is { } file ? $" [grey](file {Markup.Escape(FilesCommand.ShortId(file))}: messenger export {Markup.Escape(FilesCommand.ShortId(file))} PATH)[/]" : "")
        + (message.Direction == Direction.Outgoing && message.DeliveredAt is not null ? " [grey]✓[/]" : "");
}
