using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Messenger.Contracts.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Messenger.Cli.Profile;

/// <summary>A peer this profile pinned: the name it is shown under and the identity (certificate fingerprint) it proved.</summary>
internal sealed record Contact(string Name, string PeerId, DateTimeOffset PinnedAt, DateTimeOffset? LastSeenAt)
{
    public string? SafetyCode => ProfileIdentity.SafetyCodeOfPeerId(PeerId);
}

/// <summary>How a connection's peer was matched to the contacts.</summary>
internal enum ContactMatch
{
    /// <summary>A pinned contact: same identity as before.</summary>
    Known,

    /// <summary>Met for the first time and pinned now (trust on first use).</summary>
    Pinned,

    /// <summary>The name was pinned to another identity and the user asked to re-pin it (<c>--repin</c>).</summary>
    Repinned,
}

/// <summary>
/// A known name presented a different identity (or the identity is pinned under another name than the one asked
/// for): the connection is refused before anything is exchanged. Exit code 6.
/// </summary>
internal sealed class IdentityMismatchException(string message) : Exception(message);

/// <summary>
/// The profile's contacts, one profile record each (<c>contact/PEERID</c>, a small JSON object), so the conversation,
/// history, transfers and resume follow the identity, never a typed label. Names are unique, ignoring case.
/// </summary>
internal sealed class ContactBook(IProfileStore store)
{
    public const string Prefix = "contact/";
    public const int MaxContacts = 10_000;

    public async Task<IReadOnlyList<Contact>> ListAsync(CancellationToken cancellationToken) => (await ReadAllAsync(cancellationToken)).Contacts;

    /// <summary>Every contact, and the peer ids of records that do not parse (kept as they are, never overwritten).</summary>
    public async Task<(IReadOnlyList<Contact> Contacts, IReadOnlyList<string> Damaged)> ReadAllAsync(CancellationToken cancellationToken)
    {
        var contacts = new List<Contact>();
        var damaged = new List<string>();
        await foreach (var (key, value) in store.ListRecordsAsync(Prefix, cancellationToken))
        {
            var peerId = key[Prefix.Length..];
            if (Parse(peerId, value) is { } contact)
            {
                contacts.Add(contact);
            }
            else
            {
                damaged.Add(peerId);
            }
        }

        return (contacts, damaged);
    }

    public async Task<Contact?> FindByNameAsync(string name, CancellationToken cancellationToken) =>
        (await ListAsync(cancellationToken)).FirstOrDefault(c => string.Equals(c.Name, name, StringComparison.OrdinalIgnoreCase));

    public async Task SaveAsync(Contact contact, CancellationToken cancellationToken)
    {
        var json = new JsonObject
        {
            ["name"] = contact.Name,
            ["pinnedAt"] = contact.PinnedAt.ToString("O", CultureInfo.InvariantCulture),
            ["lastSeenAt"] = contact.LastSeenAt?.ToString("O", CultureInfo.InvariantCulture),
        };
        await store.SetRecordAsync(Prefix + contact.PeerId, Encoding.UTF8.GetBytes(json.ToJsonString()), cancellationToken);
    }

    /// <summary>The contacts of the host's store, or none when its storage plugin keeps no profile records.</summary>
    public static async Task<IReadOnlyList<Contact>> ListKeptAsync(IHost host, CancellationToken cancellationToken) =>
        host.Services.GetServices<IProfileStore>().LastOrDefault() is { } records ? await new ContactBook(records).ListAsync(cancellationToken) : [];

    /// <summary>The conversation a contact's name (any case) names, else <paramref name="nameOrId"/> itself as an id.</summary>
    public static string ConversationOf(IReadOnlyList<Contact> contacts, string nameOrId) =>
        contacts.FirstOrDefault(c => string.Equals(c.Name, nameOrId, StringComparison.OrdinalIgnoreCase))?.PeerId ?? nameOrId;

    /// <summary>The contact name a peer id is shown under, or null for a peer not pinned.</summary>
    public static string? NameOf(IReadOnlyList<Contact> contacts, string peerId) => contacts.FirstOrDefault(c => c.PeerId == peerId)?.Name;

    /// <summary>The name a peer is pinned under when the user gives none: "peer-" and the start of its id.</summary>
    public static string DefaultName(string peerId, int length = 12) => "peer-" + peerId[..Math.Min(length, peerId.Length)];

    public Task<bool> ForgetAsync(Contact contact, CancellationToken cancellationToken) =>
        store.DeleteRecordAsync(Prefix + contact.PeerId, cancellationToken).AsTask();

    /// <summary>Checks a name for a contact: 1 to 64 printable characters, no leading or trailing space.</summary>
    public static string CheckName(string name, string what) =>
        name.Length is 0 or > 64 || name.Any(ChatOutput.IsUnsafe) || name.Trim().Length != name.Length
            ? throw new CliException($"{what}: a name has 1 to 64 printable characters, without spaces at either end.")
            : name;

    /// <summary>
    /// Finds or pins the contact for a connection's peer. <paramref name="named"/> is the name the user gave
    /// (<c>--peer</c>), or null; <paramref name="repin"/> lets that name move to a new identity.
    /// </summary>
    /// <exception cref="IdentityMismatchException">The name is pinned to another identity, or this identity to another name that was asked for, without <paramref name="repin"/>.</exception>
    public async Task<(Contact Contact, ContactMatch Match)> ResolveAsync(string? named, string peerId, bool repin, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var (contacts, damaged) = await ReadAllAsync(cancellationToken);

        // A damaged record could be this peer's pin, or the pin of the name asked for: never decided over it.
        if (damaged.Contains(peerId) || (named is not null && damaged.Count > 0))
        {
            var damagedId = damaged.Contains(peerId) ? peerId : damaged[0];
            throw new StorageException(
                $"The contact record of {Describe(damagedId)} is damaged, so it cannot tell whether this peer is who it claims; it was left untouched. "
                + "Restore the store from a backup, or remove the record with: messenger contacts forget " + damagedId);
        }

        var byPeer = contacts.FirstOrDefault(c => c.PeerId == peerId);
        var byName = named is null ? null : contacts.FirstOrDefault(c => string.Equals(c.Name, named, StringComparison.OrdinalIgnoreCase));

        // A known identity, under its pinned name or a name no contact has (the pinned name stands: rename with
        // messenger contacts rename).
        if (byPeer is not null && (byName is null || byName == byPeer))
        {
            var seen = byPeer with { LastSeenAt = now };
            await SaveAsync(seen, cancellationToken);
            return (seen, ContactMatch.Known);
        }

        if (byName is not null && !repin)
        {
            var also = byPeer is null ? "" : $" (this peer is your contact '{byPeer.Name}')";
            throw new IdentityMismatchException(
                $"'{byName.Name}' is pinned to another identity: pinned {Describe(byName.PeerId)}, this peer presented {Describe(peerId)}{also}. "
                + $"If {byName.Name} really has a new profile (compare the safety code with what 'messenger whoami' prints on their side), connect again with --repin.");
        }

        if (byName is not null)
        {
            // --repin: the name moves to this identity (saved first, so a crash leaves a pin, never none; it replaces
            // any other name this identity had); the old identity's history stays in the store under its id.
            var repinned = new Contact(byName.Name, peerId, now, now);
            await SaveAsync(repinned, cancellationToken);
            await ForgetAsync(byName, cancellationToken);
            return (repinned, ContactMatch.Repinned);
        }

        if (contacts.Count >= MaxContacts)
        {
            throw new CliException($"This profile already pins {MaxContacts} contacts; forget some (messenger contacts forget NAME) first.");
        }

        var name = named ?? UnusedName(contacts, peerId);
        var pinned = new Contact(name, peerId, now, now);
        await SaveAsync(pinned, cancellationToken);
        return (pinned, ContactMatch.Pinned);
    }

    private static string UnusedName(IReadOnlyList<Contact> contacts, string peerId)
    {
        // The start of the fingerprint: unique in practice; lengthened in the rare case it is not.
        for (var length = 12; ; length += 4)
        {
            var name = DefaultName(peerId, length);
            if (length >= peerId.Length || !contacts.Any(c => string.Equals(c.Name, name, StringComparison.OrdinalIgnoreCase)))
            {
                return name;
            }
        }
    }

    private static string Describe(string peerId) =>
        ProfileIdentity.SafetyCodeOfPeerId(peerId) is { } code ? $"safety code {code}" : peerId;

    private static Contact? Parse(string peerId, byte[] value)
    {
        // A damaged record is reported (ReadAllAsync) and kept as it is.
        try
        {
            var json = JsonNode.Parse(value) as JsonObject;
            if (json?["name"]?.GetValue<string>() is not { Length: > 0 } name || json["pinnedAt"]?.GetValue<string>() is not { } pinnedAt)
            {
                return null;
            }

            var lastSeen = json["lastSeenAt"]?.GetValue<string>() is { } seen ? DateTimeOffset.Parse(seen, CultureInfo.InvariantCulture) : (DateTimeOffset?)null;
            return new Contact(name, peerId, DateTimeOffset.Parse(pinnedAt, CultureInfo.InvariantCulture), lastSeen);
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException)
        {
            return null;
        }
    }
}
