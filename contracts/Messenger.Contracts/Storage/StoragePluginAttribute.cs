namespace Messenger.Contracts.Storage;

/// <summary>
/// Declares that a plugin assembly provides the host's stores (<see cref="IMessageStore"/>, <see cref="IFileStore"/>,
/// <see cref="IProfileStore"/>) and whether opening them needs a key. Place once, beside the plugin attribute:
/// <c>[assembly: StoragePlugin(RequiresKey = false)]</c>. Since contracts 1.5.
/// </summary>
/// <remarks>
/// A host that keeps each person's data in a folder of its own (the <c>messenger</c> command's <c>--profile</c>) sets
/// the store's <c>path</c> and <c>downloadsPath</c> settings, and, only when <see cref="RequiresKey"/> is true, one of
/// <c>keyFile</c>, <c>passphraseEnvironmentVariable</c> or <c>keyEnvironmentVariable</c>: a store that encrypts
/// nothing is never handed a secret and its user is never asked for one. A storage plugin without this attribute is
/// treated as needing a key.
/// </remarks>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = false)]
public sealed class StoragePluginAttribute : Attribute
{
    /// <summary>True (the default) when the store is encrypted and cannot be opened without a key.</summary>
    public bool RequiresKey { get; set; } = true;
}
