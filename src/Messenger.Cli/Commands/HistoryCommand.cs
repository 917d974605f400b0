using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Messenger.Contracts.Storage;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace Messenger.Cli.Commands;

/// <summary><c>messenger history</c>: the stored conversations, decrypted, oldest message first.</summary>
internal static class HistoryCommand
{
    public static Command Create(Option<FileInfo?> pluginsOption, StoreProfile.Options profileOptions)
    {
        var conversationOption = new Option<string?>("--conversation") { Description = "Only this conversation: a contact's name (see messenger contacts) or a conversation id." };
        var limitOption = new Option<int>("--limit") { Description = "The last N messages of each conversation.", DefaultValueFactory = _ => 50 };
        var jsonOption = new Option<bool>("--json") { Description = "One JSON object per message." };
        var command = new Command("history", "Show the stored chat history (decrypted from your profile's store).") { conversationOption, limitOption, jsonOption };
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
            }

            if (conversations.Count == 0 && !json)
            {
                AnsiConsole.MarkupLine($"[grey]No messages stored in {Markup.Escape(profile.Folder)}.[/]");
            }

            foreach (var conversation in conversations)
            {
                if (!json)
                {
                    AnsiConsole.MarkupLine($"[bold]Conversation with {Markup.Escape(ChatOutput.Clean(NameOf(conversation)))}[/]");
                }

                await foreach (var message in store.GetMessagesAsync(conversation, limit, cancellationToken: cancellationToken))
                {
                    if (json)
                    {
                        Console.Out.WriteLine(Describe(message, NameOf(conversation)).ToJsonString());
                    }
                    else
                    {
                        AnsiConsole.MarkupLine("  " + Format(message, ChatOutput.Clean(NameOf(conversation))));
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
        ["conversation"] = message.ConversationId,
        ["peer"] = peer,
        ["id"] = message.MessageId,
        ["direction"] = message.Direction == Direction.Incoming ? "incoming" : "outgoing",
        ["sentAt"] = message.SentAt.ToString("O", CultureInfo.InvariantCulture),
        ["text"] = message.Text,
        ["deliveredAt"] = message.DeliveredAt?.ToString("O", CultureInfo.InvariantCulture),
        ["attachment"] = message.AttachmentTransferId,
    };

    /// <summary>One line of Spectre markup.</summary>
    public static string Format(StoredMessage message, string peer) =>
        $"[grey]{message.SentAt.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)}[/] "
        + (message.Direction == Direction.Incoming ? $"[blue]{Markup.Escape(peer)}[/]" : "[green]you[/]")
        + $": {Markup.Escape(ChatOutput.Clean(message.Text))}"
        + (message.AttachmentTransferId is { } file ? $" [grey](file {Markup.Escape(FilesCommand.ShortId(file))}: messenger export {Markup.Escape(FilesCommand.ShortId(file))} PATH)[/]" : "")
        + (message.Direction == Direction.Outgoing && message.DeliveredAt is not null ? " [grey]✓[/]" : "");
}
