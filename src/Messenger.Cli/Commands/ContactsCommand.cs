using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Messenger.Contracts.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Spectre.Console;

namespace Messenger.Cli.Commands;

/// <summary>
/// <c>messenger whoami</c> (this profile's identity and safety code) and <c>messenger contacts</c> (list, rename,
/// forget the pinned peers).
/// </summary>
internal static class ContactsCommand
{
    public static Command Whoami(Option<FileInfo?> pluginsOption, StoreProfile.Options profileOptions)
    {
        var jsonOption = new Option<bool>("--json") { Description = "One JSON object: peerId, fingerprint, safetyCode." };
        var command = new Command("whoami", "Show this profile's identity: the safety code to read to a contact (they see the same code for you in 'messenger contacts'), and the certificate fingerprint behind it. The first run creates the identity.") { jsonOption };
        profileOptions.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var profile = StoreProfile.Resolve(parse, profileOptions, CliPaths.ResolvePluginsFile(parse.GetValue(pluginsOption)));
            using var host = profile.OpenHost();
            var identity = await ProfileIdentity.LoadOrCreateAsync(RequireRecords(host), TimeProvider.System, cancellationToken);
            if (parse.GetValue(jsonOption))
            {
                Console.Out.WriteLine(new JsonObject
                {
                    ["peerId"] = identity.PeerId,
                    ["fingerprint"] = identity.Certificate.Fingerprint.ToString(),
                    ["safetyCode"] = identity.SafetyCode,
                }.ToJsonString());
            }
            else
            {
                AnsiConsole.MarkupLine($"Your safety code: [bold]{identity.SafetyCode}[/]");
                AnsiConsole.MarkupLine($"[grey]The certificate fingerprint behind it (profile {Markup.Escape(profile.Folder)}):[/]");
                Console.Out.WriteLine(identity.Certificate.Fingerprint.ToString()); // plain, unwrapped: it may be copied
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    public static Command Contacts(Option<FileInfo?> pluginsOption, StoreProfile.Options profileOptions)
    {
        var jsonOption = new Option<bool>("--json") { Description = "One JSON object per contact." };
        var command = new Command("contacts", "List the peers this profile pinned: name, safety code, when first met and last seen. A peer is pinned the first time you connect to it.") { jsonOption };
        profileOptions.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var (book, host) = Open(parse, pluginsOption, profileOptions);
            using (host)
            {
                var (all, damaged) = await book.ReadAllAsync(cancellationToken);
                var contacts = all.OrderBy(c => c.Name, StringComparer.OrdinalIgnoreCase).ToList();
                foreach (var id in damaged)
                {
                    Console.Error.WriteLine($"messenger: the contact record of {id} is damaged (left as it is; 'messenger contacts forget {id}' removes it).");
                }

                if (parse.GetValue(jsonOption))
                {
                    foreach (var c in contacts)
                    {
                        Console.Out.WriteLine(Describe(c).ToJsonString());
                    }
                }
                else if (contacts.Count == 0)
                {
                    AnsiConsole.MarkupLine("[grey]No contacts yet: a peer is pinned the first time you connect to it.[/]");
                }
                else
                {
                    var table = new Table().AddColumns("name", "safety code", "pinned", "last seen");
                    foreach (var c in contacts)
                    {
                        table.AddRow(Markup.Escape(ChatOutput.Clean(c.Name)), c.SafetyCode ?? Markup.Escape(c.PeerId), Date(c.PinnedAt), c.LastSeenAt is { } seen ? Date(seen) : "");
                    }

                    AnsiConsole.Write(table);
                }
            }

            return ExitCodes.Ok;
        });

        var oldName = new Argument<string>("name") { Description = "The contact's current name." };
        var newName = new Argument<string>("new-name") { Description = "The name to show from now on." };
        var rename = new Command("rename", "Rename a contact; its identity, history and transfers stay as they are.") { oldName, newName };
        profileOptions.AddTo(rename);
        rename.SetAction(async (parse, cancellationToken) =>
        {
            var to = ContactBook.CheckName(parse.GetValue(newName)!, "new-name");
            var (book, host) = Open(parse, pluginsOption, profileOptions);
            using (host)
            {
                var contact = await FindAsync(book, parse.GetValue(oldName)!, cancellationToken);
                if (await book.FindByNameAsync(to, cancellationToken) is { } taken && taken.PeerId != contact.PeerId)
                {
                    throw new CliException($"'{taken.Name}' is already the name of another contact.");
                }

                await book.SaveAsync(contact with { Name = to }, cancellationToken);
                AnsiConsole.MarkupLine($"Renamed {Markup.Escape(contact.Name)} to {Markup.Escape(to)}.");
            }

            return ExitCodes.Ok;
        });
        command.Subcommands.Add(rename);

        var forgetName = new Argument<string>("name") { Description = "The contact to forget." };
        var forget = new Command("forget", "Forget a contact's pinned identity: the next connection under that name pins whoever presents itself. The history stays in the store.") { forgetName };
        profileOptions.AddTo(forget);
        forget.SetAction(async (parse, cancellationToken) =>
        {
            var (book, host) = Open(parse, pluginsOption, profileOptions);
            using (host)
            {
                var name = parse.GetValue(forgetName)!;
                var (contacts, damaged) = await book.ReadAllAsync(cancellationToken);
                if (damaged.Contains(name) && contacts.All(c => c.PeerId != name))
                {
                    // A damaged record is named by its peer id (as messenger contacts lists it).
                    await book.ForgetAsync(new Contact(name, name, default, null), cancellationToken);
                    AnsiConsole.MarkupLine($"Removed the damaged contact record {Markup.Escape(name)}.");
                    return ExitCodes.Ok;
                }

                var contact = await FindAsync(book, name, cancellationToken);
                await book.ForgetAsync(contact, cancellationToken);
                AnsiConsole.MarkupLine($"Forgot {Markup.Escape(contact.Name)} (safety code {contact.SafetyCode ?? Markup.Escape(contact.PeerId)}).");
            }

            return ExitCodes.Ok;
        });
        command.Subcommands.Add(forget);
        return command;
    }

    public static JsonObject Describe(Contact c) => new()
    {
        ["name"] = c.Name,
        ["peerId"] = c.PeerId,
        ["safetyCode"] = c.SafetyCode,
        ["pinnedAt"] = c.PinnedAt.ToString("O", CultureInfo.InvariantCulture),
        ["lastSeenAt"] = c.LastSeenAt?.ToString("O", CultureInfo.InvariantCulture),
    };

    /// <summary>The profile records of the loaded store plugin.</summary>
    public static IProfileStore RequireRecords(IHost host) =>
        host.Services.GetServices<IProfileStore>().LastOrDefault()
        ?? throw new CliException("The loaded storage plugin keeps no profile records (contracts 1.4 IProfileStore): there is no kept identity or contact list.");

    private static (ContactBook Book, IHost Host) Open(ParseResult parse, Option<FileInfo?> pluginsOption, StoreProfile.Options profileOptions)
    {
        var profile = StoreProfile.Resolve(parse, profileOptions, CliPaths.ResolvePluginsFile(parse.GetValue(pluginsOption)));
        var host = profile.OpenHost();
        try
        {
            return (new ContactBook(RequireRecords(host)), host);
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    private static async Task<Contact> FindAsync(ContactBook book, string name, CancellationToken cancellationToken) =>
        await book.FindByNameAsync(name, cancellationToken)
        ?? throw new CliException($"No contact is named '{name}' (messenger contacts lists them).");

    private static string Date(DateTimeOffset at) => at.ToLocalTime().ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);
}
