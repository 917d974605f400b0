namespace Messenger.Plugins.FileTransfer.Protocol;

/// <summary>What a transfer id may look like: it becomes part of a store file id, so it is kept to safe characters.</summary>
public static class TransferIds
{
    /// <summary>The longest id accepted.</summary>
    public const int MaxLength = 64;

    /// <summary>A new random id.</summary>
    /// <returns>32 lowercase hex digits.</returns>
    public static string Create() => Guid.NewGuid().ToString("n");

    /// <summary>Whether <paramref name="id"/> is 1–64 of <c>[A-Za-z0-9_-]</c>.</summary>
    /// <param name="id">The id from the wire.</param>
    /// <returns>True when it is acceptable.</returns>
    public static bool IsValid(string? id) =>
        id is { Length: > 0 and <= MaxLength } && id.AsSpan().IndexOfAnyExcept(Allowed) < 0;

    private static readonly System.Buffers.SearchValues<char> Allowed =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
}
