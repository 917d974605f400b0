namespace Messenger.Contracts;

/// <summary>
/// The version of the contracts assembly. The host refuses a plugin built against a newer
/// <see cref="Major"/> than its own; minor versions only add members and stay compatible.
/// </summary>
public static class ContractsVersion
{
    /// <summary>Incremented on a change that breaks plugins built against an earlier version.</summary>
    public const int Major = 1;

    /// <summary>Incremented when members are added without breaking existing plugins.</summary>
    public const int Minor = 5;

    /// <summary>The version as a <see cref="System.Version"/>, for display.</summary>
    public static Version Current { get; } = new(Major, Minor);
}
