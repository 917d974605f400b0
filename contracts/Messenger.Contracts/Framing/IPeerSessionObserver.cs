namespace Messenger.Contracts.Framing;

/// <summary>
/// Told when a session with the peer starts and ends, for example so a file transfer can resume after a reconnect.
/// Register with <c>services.TryAddEnumerable(ServiceDescriptor.Singleton&lt;IPeerSessionObserver, MyObserver&gt;())</c>.
/// </summary>
public interface IPeerSessionObserver
{
    /// <summary>Called once the session is open and frames can be sent.</summary>
    /// <param name="session">The new session.</param>
    /// <param name="cancellationToken">Cancelled when the session ends.</param>
    /// <returns>A task the host awaits before it delivers frames of the session to handlers.</returns>
    ValueTask OnSessionStartedAsync(IPeerSession session, CancellationToken cancellationToken);

    /// <summary>Called after the session ended; nothing can be sent on it any more.</summary>
    /// <param name="session">The ended session.</param>
    /// <returns>A task the host awaits.</returns>
    ValueTask OnSessionEndedAsync(IPeerSession session);
}
