namespace Messenger.Contracts.Framing;

/// <summary>
/// The small integer that says what a frame is and which handler owns it. Kinds are append-only and never reused.
/// </summary>
/// <remarks>
/// Ranges: 0–99 the host (chat, session control); 100–999 plugins shipped with Messenger;
/// 1000 and up third-party plugins. The host refuses to start when two handlers claim the same kind.
/// </remarks>
/// <param name="Value">The wire value.</param>
public readonly record struct FrameKind(int Value)
{
    /// <summary>The first kind of the range reserved for the host.</summary>
    public const int HostFirst = 0;

    /// <summary>The first kind of the range for plugins shipped with Messenger.</summary>
    public const int BuiltInPluginFirst = 100;

    /// <summary>The first kind of the range for third-party plugins.</summary>
    public const int ThirdPartyFirst = 1000;

    /// <inheritdoc />
    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
