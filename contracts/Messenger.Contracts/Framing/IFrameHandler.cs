namespace Messenger.Contracts.Framing;

/// <summary>
/// Owns one or more frame kinds: the host routes every received frame of those kinds to it.
/// Register with <c>services.TryAddEnumerable(ServiceDescriptor.Singleton&lt;IFrameHandler, MyHandler&gt;())</c>.
/// </summary>
public interface IFrameHandler
{
    /// <summary>A short name for logs and errors, usually the plugin name.</summary>
    string Name { get; }

    /// <summary>The kinds this handler owns.</summary>
    IReadOnlyCollection<FrameKind> Kinds { get; }

    /// <summary>
    /// Handles one received frame. This handler's frames of one session arrive one at a time, in the order they were
    /// received; other handlers' frames are handled meanwhile, on their own (a slow handler delays only itself, and
    /// the peer's sending through the transport's receive window). Throwing <see cref="FrameFormatException"/>
    /// reports a malformed body; the session stays usable.
    /// </summary>
    /// <param name="session">The session the frame came from; use it to reply.</param>
    /// <param name="kind">The frame's kind, one of <see cref="Kinds"/>.</param>
    /// <param name="body">
    /// The frame body: exactly one MessagePack object, still untrusted. It lives in a buffer the transport lends and
    /// reuses once the returned task completes: copy what you keep beyond that.
    /// </param>
    /// <param name="cancellationToken">Cancelled when the session ends.</param>
    /// <returns>A task that completes when the frame is handled.</returns>
    ValueTask HandleFrameAsync(IPeerSession session, FrameKind kind, ReadOnlyMemory<byte> body, CancellationToken cancellationToken);
}
