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
    ValueTask<TransferInfo> SendFileAsync(string path, SendFileOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>Accepts an incoming offer (resuming from a stored verified prefix when there is one).</summary>
    /// <param name="transferId">The transfer id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the acceptance is sent.</returns>
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

    /// <summary>The transfers this service knows, newest first.</summary>
    /// <returns>Snapshots of the transfers.</returns>
    IReadOnlyList<TransferInfo> GetTransfers();

    /// <summary>Every transfer event from the first <c>MoveNextAsync</c> on, until cancelled.</summary>
    /// <param name="cancellationToken">Ends the stream.</param>
    /// <returns>The events, in order.</returns>
    IAsyncEnumerable<TransferEvent> WatchAsync(CancellationToken cancellationToken = default);
}
