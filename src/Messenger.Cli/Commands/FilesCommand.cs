using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Messenger.Contracts.Storage;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace Messenger.Cli.Commands;

/// <summary><c>messenger files</c>: every file sent and received, from the store's transfer records.</summary>
internal static class FilesCommand
{
    public static Command Create(Option<FileInfo?> pluginsOption, StoreProfile.Options profileOptions)
    {
        var conversationOption = new Option<string?>("--conversation") { Description = "Only files with this contact (a name from messenger contacts) or conversation id." };
        var jsonOption = new Option<bool>("--json") { Description = "One JSON object per file." };
        var command = new Command("files", "List every file sent and received: id (the short form works wherever an id is asked for), name, size, peer, state, date. messenger export ID PATH writes a received one out.") { conversationOption, jsonOption };
        profileOptions.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var profile = StoreProfile.Resolve(parse, profileOptions, CliPaths.ResolvePluginsFile(parse.GetValue(pluginsOption)));
            using var host = profile.OpenHost();
            var messages = host.Services.GetServices<IMessageStore>().LastOrDefault()
                ?? throw new CliException("No storage plugin is loaded (see messenger plugins): there are no stored files.");
            var contacts = await ContactBook.ListKeptAsync(host, cancellationToken);
            var only = parse.GetValue(conversationOption) is { } wanted ? ContactBook.ConversationOf(contacts, wanted) : null;
            var records = new List<TransferRecord>();
            await foreach (var record in messages.GetTransfersAsync(cancellationToken))
            {
                if (only is null || (record.PeerId ?? record.ConversationId) == only)
                {
                    records.Add(record);
                }
            }

            string PeerName(TransferRecord r) => r.PeerId is { } id
                ? ContactBook.NameOf(contacts, id) ?? id
                : r.ConversationId + " (unrecorded peer)";
            if (parse.GetValue(jsonOption))
            {
                foreach (var r in records)
                {
                    Console.Out.WriteLine(new JsonObject
                    {
                        ["id"] = r.TransferId,
                        ["shortId"] = ShortId(r.TransferId),
                        ["direction"] = r.Direction == Direction.Incoming ? "received" : "sent",
                        ["name"] = r.FileName,
                        ["size"] = r.Size,
                        ["peer"] = PeerName(r),
                        ["peerId"] = r.PeerId,
                        ["state"] = r.State.ToString(),
                        ["createdAt"] = r.CreatedAt.ToString("O", CultureInfo.InvariantCulture),
                        ["fileId"] = r.FileId,
                    }.ToJsonString());
                }
            }
            else if (records.Count == 0)
            {
                AnsiConsole.MarkupLine($"[grey]No files sent or received in {Markup.Escape(profile.Folder)}.[/]");
            }
            else
            {
                var table = new Table().AddColumns("id", "", "name", "size", "peer", "state", "date");
                foreach (var r in records)
                {
                    table.AddRow(
                        ShortId(r.TransferId),
                        r.Direction == Direction.Incoming ? "←" : "→",
                        Markup.Escape(ChatOutput.Clean(r.FileName)),
                        ByteSize.Format(r.Size),
                        Markup.Escape(ChatOutput.Clean(PeerName(r))),
                        r.State.ToString(),
                        r.CreatedAt.ToLocalTime().ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture));
                }

                AnsiConsole.Write(table);
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>The first 8 characters: unique in practice, and any unique prefix is accepted.</summary>
    public static string ShortId(string id) => id.Length <= 8 ? id : id[..8];

    /// <summary>
    /// The transfer a full id or a unique prefix names, or null when none does.
    /// </summary>
    /// <exception cref="CliException">The prefix matches more than one transfer.</exception>
    public static async Task<TransferRecord?> FindAsync(IMessageStore messages, string idOrPrefix, CancellationToken cancellationToken)
    {
        if (await messages.GetTransferAsync(idOrPrefix, cancellationToken) is { } exact)
        {
            return exact;
        }

        var matches = new List<TransferRecord>();
        await foreach (var record in messages.GetTransfersAsync(cancellationToken))
        {
            if (record.TransferId.StartsWith(idOrPrefix, StringComparison.Ordinal))
            {
                matches.Add(record);
            }
        }

        return matches.Count switch
        {
            0 => null,
            1 => matches[0],
            _ => throw new CliException($"{idOrPrefix} matches {matches.Count} transfers; type more of the id (messenger files lists them)."),
        };
    }
}
