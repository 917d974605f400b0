namespace Messenger.Contracts.FileTransfer;

/// <summary>Options for one outgoing file.</summary>
public sealed record SendFileOptions
{
    /// <summary>A caption shown with the offer, or null.</summary>
    public string? Caption { get; init; }

    /// <summary>The chat message the file is attached to, or null.</summary>
    public string? ChatMessageId { get; init; }

    /// <summary>The name to offer instead of the file's own, or null.</summary>
    public string? FileName { get; init; }

    /// <summary>
    /// The peer (<see cref="Framing.IPeerSession.PeerId"/>) the file is for, or null for the connected peer. A file for
    /// a peer that is not connected is offered when a session with that peer starts, and to no one else.
    /// </summary>
    public string? PeerId { get; init; }
}

/// <summary>Sends and receives files over the peer session. Implemented by the file-transfer plugin.</summary>
public interface IFileTransferService
{
    /// <summary>Raised for every transfer event, on no particular thread.</summary>
    event EventHandler<TransferEvent>? TransferChanged;

    /// <summary>Offers a file to the peer (with a preview when a generator handles it) and starts when accepted.</summary>
    /// <param name="path">The file to send.</param>
    /// <param name="options">Caption, chat message and name, or null.</param>
    /// <param name="cancellationToken">Cancels preparing the offer (hashing, preview).</param>
    /// <returns>The offered transfer.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidOperationException">
    /// No peer is connected and <see cref="SendFileOptions.PeerId"/> names none (since contracts 1.2: a file is never
    /// left for whoever connects next).
    /// </exception>
    ValueTask<TransferInfo> SendFileAsync(string path, SendFileOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>Accepts an incoming offer (resuming from a stored verified prefix when there is one).</summary>
    /// <param name="transferId">The transfer id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the acceptance is sent.</returns>
    /// <exception cref="KeyNotFoundException">No incoming transfer has that id.</exception>
    /// <exception cref="InvalidOperationException">
    /// The transfer cannot be accepted now: it is not offered or paused, no peer is connected, or the connected peer is
    /// not the one that offered it.
    /// </exception>
    ValueTask AcceptAsync(string transferId, CancellationToken cancellationToken = default);

    /// <summary>Declines an incoming offer.</summary>
    /// <param name="transferId">The transfer id.</param>
    /// <param name="reason">Shown to the sender, or null.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the rejection is sent.</returns>
    ValueTask RejectAsync(string transferId, string? reason = null, CancellationToken cancellationToken = default);

    /// <summary>Cancels a transfer in either direction; the peer stops within one round trip.</summary>
    /// <param name="transferId">The transfer id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the cancel is sent and local state is cleaned up.</returns>
    ValueTask CancelAsync(string transferId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Offers the file of an earlier outgoing transfer again, as a new transfer to the connected peer: how a user
    /// sends a file whose transfer belongs to no peer (a record from before contracts 1.2) or to another peer.
    /// An unfinished transfer that belonged to no peer ends as cancelled ("resent as …").
    /// </summary>
    /// <param name="transferId">The earlier outgoing transfer.</param>
    /// <param name="cancellationToken">Cancels preparing the offer.</param>
    /// <returns>The new transfer.</returns>
    /// <exception cref="KeyNotFoundException">No outgoing transfer has that id.</exception>
    /// <exception cref="InvalidOperationException">
    /// No peer is connected, the transfer has no source file, or it is unfinished and belongs to the connected peer
    /// (it resumes by itself).
    /// </exception>
    ValueTask<TransferInfo> ResendAsync(string transferId, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("This file-transfer service cannot resend; offer the file again with SendFileAsync.");

    /// <summary>The transfers this service knows, newest first.</summary>
    /// <returns>Snapshots of the transfers.</returns>
    IReadOnlyList<TransferInfo> GetTransfers();

    /// <summary>Every transfer event from the first <c>MoveNextAsync</c> on, until cancelled.</summary>
    /// <param name="cancellationToken">Ends the stream.</param>
    /// <returns>The events, in order.</returns>
    IAsyncEnumerable<TransferEvent> WatchAsync(CancellationToken cancellationToken = default);
}
