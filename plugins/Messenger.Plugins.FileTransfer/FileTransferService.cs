using System.Collections.Concurrent;
using Messenger.Contracts;
using Messenger.Contracts.Channels;
using Messenger.Contracts.FileTransfer;
using Messenger.Contracts.Framing;
using Messenger.Contracts.Previews;
using Messenger.Contracts.Storage;
using Messenger.Plugins.FileTransfer.Protocol;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Messenger.Plugins.FileTransfer;

/// <summary>
/// Sends and receives files over the peer session: offers, accept/reject, chunks on one bulk lane per transfer,
/// periodic durable acks, whole-file verification, cancel from either side, and resume from the verified prefix.
/// It is the one driver: the only code that touches the store, the message store and the session. The protocol's
/// decisions are <see cref="ReceivingMachine"/>'s and <see cref="SendingMachine"/>'s; this file holds the public
/// API, frame dispatch, the session's start and end, finishing and persistence; the two sides are in
/// FileTransferService.Receiving.cs and FileTransferService.Sending.cs.
/// </summary>
internal sealed partial class FileTransferService : IFileTransferService, IFrameHandler, IPeerSessionObserver, IAsyncDisposable, IDisposable
{
    private const int MaxCaptionLength = 4096;
    private const int MaxMediaTypeLength = 255;
    private const int MaxUnknownRepliesRemembered = 1024;
    private const int MinLinkChunkSize = 4 * 1024;

    private readonly FileTransferOptions _options;
    private readonly TimeProvider _time;
    private readonly Messenger.Shared.Logging.LogBudget _offerLogBudget;
    private readonly ILogger<FileTransferService> _logger;
    private readonly IReadOnlyList<IPreviewGenerator> _previews;
    private readonly IFileSource _source;
    private readonly IFileStore? _files;
    private readonly IMessageStore? _messages;
    private readonly ConcurrentDictionary<string, Transfer> _transfers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _refusedOffers = new(StringComparer.Ordinal);
    private readonly EventFanout<TransferEvent> _events = new();
    private readonly SemaphoreSlim _loadGate = new(1, 1);
    private readonly HashSet<string> _unknownReplied = new(StringComparer.Ordinal);
    private IPeerSession? _session;
    private bool _loaded;

    public FileTransferService(
        FileTransferOptions options,
        TimeProvider time,
        ILogger<FileTransferService> logger,
        IEnumerable<IPreviewGenerator> previews,
        IFileSource source,
        IServiceProvider services)
    {
        _options = options;
        _time = time;
        _offerLogBudget = new Messenger.Shared.Logging.LogBudget(time);
        _logger = logger;
        _previews = previews.ToArray();
        _source = source;
        // Storage is another plugin and may be absent: without it this peer still sends, but refuses incoming files.
        _files = services.GetService<IFileStore>();
        _messages = services.GetService<IMessageStore>();
    }

    public event EventHandler<TransferEvent>? TransferChanged;

    public string Name => "FileTransfer";

    public IReadOnlyCollection<FrameKind> Kinds => TransferFrameKinds.All;

    /// <summary>Chunk frames sent for a transfer across all sessions, or -1 when unknown (for tests and diagnostics).</summary>
    internal long ChunksSent(string transferId) =>
        _transfers.TryGetValue(transferId, out var t) ? Interlocked.Read(ref t.ChunksSent) : -1;

    // ---------------------------------------------------------------- public API

    public async ValueTask<TransferInfo> SendFileAsync(string path, SendFileOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        await EnsureLoadedAsync(cancellationToken).ConfigureAwait(false);
        var connected = Volatile.Read(ref _session);
        // A transfer belongs to one peer from its offer on: it is offered, resumed and answered only in that peer's sessions.
        if (options?.PeerId is { } named && string.IsNullOrWhiteSpace(named))
        {
            throw new ArgumentException("SendFileOptions.PeerId names no peer; leave it null for the connected peer.", nameof(options));
        }

        var peer = options?.PeerId ?? connected?.PeerId
            ?? throw new InvalidOperationException("No peer is connected; connect first or name the peer in SendFileOptions.PeerId.");
        long size;
        var header = new byte[PreviewOptions.SniffLength];
        int headerLength;
        var stream = _source.OpenRead(path);
        await using (stream.ConfigureAwait(false))
        {
            size = stream.Length;
            // No hash before the offer: the sender hashes while it sends and puts the digest in End, so a file of any
            // size is offered at once.
            headerLength = await stream.ReadAtLeastAsync(header, header.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        }

        var name = options?.FileName ?? Path.GetFileName(path);
        var (mediaType, preview) = await PreparePreviewAsync(path, name, header.AsMemory(0, headerLength), cancellationToken).ConfigureAwait(false);
        var session = Volatile.Read(ref _session) is { } current && string.Equals(current.PeerId, peer, StringComparison.Ordinal) ? current : null;
        var transfer = new Transfer
        {
            Id = TransferIds.Create(),
            Direction = Direction.Outgoing,
            PeerId = peer,
            ConversationId = peer,
            FileName = name,
            Size = size,
            MediaType = mediaType,
            ChunkSize = EffectiveChunkSize(session),
            Sha256 = [],
            CreatedAt = _time.GetUtcNow(),
            Meter = NewMeter(),
            Preview = preview,
            Caption = options?.Caption,
            ChatMessageId = options?.ChatMessageId,
            SourcePath = path,
            State = TransferState.Offered,
        };
        _transfers[transfer.Id] = transfer;
        await SaveAsync(transfer).ConfigureAwait(false);
        Publish(new TransferOffered(transfer.Snapshot()));
        if (session is not null)
        {
            await TrySendAsync(session, TransferFrameKinds.Offer, ControlFrameCodec.Write(ToOfferFrame(transfer))).ConfigureAwait(false);
        }

        return transfer.Snapshot();
    }

    public async ValueTask AcceptAsync(string transferId, CancellationToken cancellationToken = default)
    {
        var transfer = Find(transferId, Direction.Incoming);
        if (transfer.State is not (TransferState.Offered or TransferState.Paused))
        {
            throw new InvalidOperationException($"Transfer {transferId} is {transfer.State}; only an offered or paused transfer can be accepted.");
        }

        var session = Volatile.Read(ref _session)
            ?? throw new InvalidOperationException("No peer is connected; accept the transfer once the peer is back.");
        if (!transfer.BelongsTo(session))
        {
            throw new InvalidOperationException(transfer.PeerId is null
                ? $"Transfer {transferId} was recorded without its sender, so it cannot be resumed; ask the sender to send the file again."
                : $"Transfer {transferId} is from {transfer.PeerId}, not from the connected peer {session.PeerId}; accept it when {transfer.PeerId} is connected.");
        }

        await AcceptCoreAsync(transfer, session, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask RejectAsync(string transferId, string? reason = null, CancellationToken cancellationToken = default)
    {
        var transfer = Find(transferId, Direction.Incoming);
        await transfer.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (transfer.State != TransferState.Offered)
            {
                throw new InvalidOperationException($"Transfer {transferId} is {transfer.State}; only an offered transfer can be rejected (cancel it instead).");
            }

            await FinishLockedAsync(
                transfer,
                TransferState.Rejected,
                reason is null ? "rejected by you" : $"rejected by you: {reason}",
                info => new TransferRejected(info, ByPeer: false),
                (TransferFrameKinds.Reject, ControlFrameCodec.Write(new RejectFrame { TransferId = transferId, Reason = reason })),
                deletePartial: true).ConfigureAwait(false);
        }
        finally
        {
            transfer.Gate.Release();
        }
    }

    public async ValueTask CancelAsync(string transferId, CancellationToken cancellationToken = default)
    {
        var transfer = Find(transferId, direction: null);
        await CancelRunAsync(transfer).ConfigureAwait(false);
        await transfer.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await FinishLockedAsync(
                transfer,
                TransferState.Cancelled,
                "cancelled by you",
                info => new TransferCancelled(info, ByPeer: false),
                (TransferFrameKinds.Cancel, ControlFrameCodec.Write(new CancelFrame { TransferId = transferId, Reason = "the user cancelled" })),
                deletePartial: !_options.KeepPartialOnCancel).ConfigureAwait(false);
        }
        finally
        {
            transfer.Gate.Release();
        }
    }

    public async ValueTask<TransferInfo> ResendAsync(string transferId, CancellationToken cancellationToken = default)
    {
        await EnsureLoadedAsync(cancellationToken).ConfigureAwait(false);
        var old = Find(transferId, Direction.Outgoing);
        var session = Volatile.Read(ref _session)
            ?? throw new InvalidOperationException("No peer is connected; resend the file once a peer is connected.");
        if (old.SourcePath is null)
        {
            throw new InvalidOperationException($"Transfer {transferId} has no source file recorded; send the file again by its path.");
        }

        if (!old.IsFinal && old.BelongsTo(session))
        {
            throw new InvalidOperationException($"Transfer {transferId} is still on its way to {session.PeerId} and resumes by itself; cancel it first to send the file anew.");
        }

        if (Interlocked.Exchange(ref old.Resending, 1) != 0)
        {
            throw new InvalidOperationException($"Transfer {transferId} is already being resent.");
        }

        try
        {
            var resent = await SendFileAsync(old.SourcePath, new SendFileOptions { FileName = old.FileName, Caption = old.Caption, PeerId = session.PeerId }, cancellationToken).ConfigureAwait(false);
            if (old.PeerId is null)
            {
                // A transfer that belonged to no peer can never resume; the new one replaces it. The new offer is out,
                // so the old record is closed whatever the caller's token says now.
                await CancelRunAsync(old).ConfigureAwait(false);
                await old.Gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
                try
                {
                    await FinishLockedAsync(old, TransferState.Cancelled, $"resent as {resent.TransferId}", info => new TransferCancelled(info, ByPeer: false), null, deletePartial: false).ConfigureAwait(false);
                }
                finally
                {
                    old.Gate.Release();
                }
            }

            return resent;
        }
        finally
        {
            Volatile.Write(ref old.Resending, 0);
        }
    }

    public IReadOnlyList<TransferInfo> GetTransfers() =>
        _transfers.Values.OrderByDescending(t => t.CreatedAt).Select(t => t.Snapshot()).ToArray();

    public IAsyncEnumerable<TransferEvent> WatchAsync(CancellationToken cancellationToken = default) => _events.WatchAsync(cancellationToken);

    // ---------------------------------------------------------------- sessions

    public async ValueTask OnSessionStartedAsync(IPeerSession session, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        await EnsureLoadedAsync(cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _session, session);
        // Only this peer's transfers: another peer's file, notices or resume points are none of this session's business.
        foreach (var transfer in _transfers.Values.Where(t => t.BelongsTo(session)))
        {
            if (transfer.PendingNotice is { } notice && await TrySendAsync(session, notice.Kind, notice.Body).ConfigureAwait(false))
            {
                transfer.PendingNotice = null;
            }
        }

        // Re-offering is the resume request: the receiver answers with the verified prefix it holds.
        foreach (var transfer in _transfers.Values.Where(t => t.Direction == Direction.Outgoing && !t.IsFinal && t.BelongsTo(session)))
        {
            await TrySendAsync(session, TransferFrameKinds.Offer, ControlFrameCodec.Write(ToOfferFrame(transfer))).ConfigureAwait(false);
        }
    }

    public async ValueTask OnSessionEndedAsync(IPeerSession session)
    {
        Interlocked.CompareExchange(ref _session, null, session);
        _refusedOffers.TryRemove(session.SessionId, out _);
        foreach (var transfer in _transfers.Values.Where(t => ReferenceEquals(t.Session, session)))
        {
            await CancelRunAsync(transfer).ConfigureAwait(false);
            await transfer.Gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
            try
            {
                if (transfer.State != TransferState.InProgress || !ReferenceEquals(transfer.Session, session))
                {
                    continue;
                }

                if (transfer.Incoming is { } incoming)
                {
                    // Everything the handler took off the channel is stored and flushed before the pause is recorded.
                    transfer.Incoming = null;
                    var outcome = await incoming.DrainAsync().ConfigureAwait(false);
                    if (outcome == IncomingWriter.Outcome.Failed)
                    {
                        await FinishLockedAsync(transfer, TransferState.Failed, $"storage failed while pausing: {incoming.FailureReason}", info => new TransferFailed(info), null, deletePartial: true).ConfigureAwait(false);
                        continue;
                    }

                    transfer.VerifiedBytes = incoming.VerifiedBytes;
                }

                if (transfer.Writer is not null)
                {
                    await CloseWriterAsync(transfer).ConfigureAwait(false);
                }

                transfer.State = TransferState.Paused;
                transfer.Session = null;
                await SaveAsync(transfer).ConfigureAwait(false);
                Publish(new TransferPaused(transfer.Snapshot()));
            }
            finally
            {
                transfer.Gate.Release();
            }
        }
    }

    // ---------------------------------------------------------------- frames

    public async ValueTask HandleFrameAsync(IPeerSession session, FrameKind kind, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        // The hot path first: chunks are nearly every frame.
        if (kind == TransferFrameKinds.Chunk)
        {
            await OnChunkAsync(session, ChunkFrame.Read(body), cancellationToken).ConfigureAwait(false);
        }
        else if (kind == TransferFrameKinds.Offer)
        {
            await OnOfferAsync(session, ControlFrameCodec.Read<OfferFrame>(body, f => f.TransferId), cancellationToken).ConfigureAwait(false);
        }
        else if (kind == TransferFrameKinds.Accept)
        {
            await OnAcceptAsync(session, ControlFrameCodec.Read<AcceptFrame>(body, f => f.TransferId)).ConfigureAwait(false);
        }
        else if (kind == TransferFrameKinds.Reject)
        {
            var reject = ControlFrameCodec.Read<RejectFrame>(body, f => f.TransferId);
            await OnPeerEndedAsync(session, reject.TransferId, Direction.Outgoing, TransferState.Rejected, $"rejected by the peer{Suffix(reject.Reason)}", info => new TransferRejected(info, ByPeer: true)).ConfigureAwait(false);
        }
        else if (kind == TransferFrameKinds.Ack)
        {
            await OnAckAsync(session, ControlFrameCodec.Read<AckFrame>(body, f => f.TransferId)).ConfigureAwait(false);
        }
        else if (kind == TransferFrameKinds.End)
        {
            await OnEndAsync(session, ControlFrameCodec.Read<EndFrame>(body, f => f.TransferId), cancellationToken).ConfigureAwait(false);
        }
        else if (kind == TransferFrameKinds.Verify)
        {
            await OnVerifyAsync(session, ControlFrameCodec.Read<VerifyFrame>(body, f => f.TransferId)).ConfigureAwait(false);
        }
        else if (kind == TransferFrameKinds.Cancel)
        {
            var cancel = ControlFrameCodec.Read<CancelFrame>(body, f => f.TransferId);
            await OnPeerEndedAsync(session, cancel.TransferId, null, TransferState.Cancelled, $"cancelled by the peer{Suffix(cancel.Reason)}", info => new TransferCancelled(info, ByPeer: true)).ConfigureAwait(false);
        }
        else if (kind == TransferFrameKinds.Fail)
        {
            var fail = ControlFrameCodec.Read<FailFrame>(body, f => f.TransferId);
            await OnPeerEndedAsync(session, fail.TransferId, null, TransferState.Failed, $"the peer failed: {fail.Reason}", info => new TransferFailed(info)).ConfigureAwait(false);
        }
        else
        {
            throw new FrameFormatException($"kind {kind} is not a file-transfer frame");
        }
    }

    private async Task OnPeerEndedAsync(IPeerSession session, string transferId, Direction? direction, TransferState state, string reason, Func<TransferInfo, TransferEvent> toEvent)
    {
        if (!TryFind(session, transferId, direction, out var transfer))
        {
            LogUnknownTransfer(transferId, state);
            return;
        }

        await CancelRunAsync(transfer).ConfigureAwait(false);
        await transfer.Gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            var keep = state == TransferState.Cancelled && _options.KeepPartialOnCancel;
            await FinishLockedAsync(transfer, state, reason, toEvent, null, deletePartial: !keep).ConfigureAwait(false);
        }
        finally
        {
            transfer.Gate.Release();
        }
    }

    // ---------------------------------------------------------------- shared steps

    /// <summary>Moves a transfer to a final state once: stops its run, closes or deletes its file, records, reports, tells the peer.</summary>
    private async Task FinishLockedAsync(
        Transfer transfer,
        TransferState state,
        string? reason,
        Func<TransferInfo, TransferEvent> toEvent,
        (FrameKind Kind, byte[] Body)? notifyPeer,
        bool deletePartial)
    {
        if (transfer.IsFinal)
        {
            return;
        }

        // Only the transfer's own peer is told; with another peer connected the notice waits for its owner's next session.
        var session = transfer.Session ?? (Volatile.Read(ref _session) is { } current && transfer.BelongsTo(current) ? current : null);
        transfer.State = state;
        transfer.Reason = reason;
        transfer.Session = null;
        await CancelRunAsync(transfer).ConfigureAwait(false);
        await StopIncomingAsync(transfer).ConfigureAwait(false);
        await CloseWriterAsync(transfer).ConfigureAwait(false);
        if (transfer.Direction == Direction.Incoming && deletePartial && transfer.FileId is { } fileId && _files is not null)
        {
            try
            {
                await _files.DeleteAsync(fileId, CancellationToken.None).ConfigureAwait(false);
                transfer.FileId = null;
            }
            catch (IOException ex)
            {
                LogDeleteFailed(transfer.Id, fileId, ex);
            }
        }

        await SaveAsync(transfer).ConfigureAwait(false);
        Publish(toEvent(transfer.Snapshot()));
        if (notifyPeer is { } frame)
        {
            if (session is null || !await TrySendAsync(session, frame.Kind, frame.Body).ConfigureAwait(false))
            {
                // No peer to tell now: tell it when it is back, so its side does not wait on a dead transfer.
                transfer.PendingNotice = frame;
            }
        }
    }

    private async Task CloseWriterAsync(Transfer transfer)
    {
        if (transfer.Writer is not { } writer)
        {
            return;
        }

        transfer.Writer = null;
        try
        {
            await writer.DisposeAsync().ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            LogWriterCloseFailed(transfer.Id, ex);
        }
    }

    private static async Task CancelRunAsync(Transfer transfer)
    {
        if (transfer.RunCancellation is { } run)
        {
            try
            {
                await run.CancelAsync().ConfigureAwait(false);
            }
            catch (ObjectDisposedException)
            {
                // The run already finished and disposed its source: nothing left to stop.
            }
        }
    }

    private async Task ReplyUnknownAsync(IPeerSession session, string transferId)
    {
        bool first;
        lock (_unknownReplied)
        {
            if (_unknownReplied.Count >= MaxUnknownRepliesRemembered)
            {
                _unknownReplied.Clear();
            }

            first = _unknownReplied.Add(session.PeerId + "\n" + transferId);
        }

        if (first)
        {
            await TrySendAsync(session, TransferFrameKinds.Cancel, ControlFrameCodec.Write(new CancelFrame { TransferId = transferId, Reason = "this peer knows no such transfer" })).ConfigureAwait(false);
        }
    }

    private async Task<bool> TrySendAsync(IPeerSession session, FrameKind kind, byte[] body)
    {
        try
        {
            await session.SendAsync(kind, body, session.Ended).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is DataChannelClosedException or OperationCanceledException or ObjectDisposedException)
        {
            // The session ended; the next session's re-offer (or pending notice) brings both sides back in step.
            LogNotSent(kind.Value, ex.Message);
            return false;
        }
    }

    private async ValueTask SaveAsync(Transfer transfer)
    {
        if (_messages is not null)
        {
            await _messages.SaveTransferAsync(transfer.ToRecord(_time.GetUtcNow()), CancellationToken.None).ConfigureAwait(false);
        }
    }

    private async ValueTask EnsureLoadedAsync(CancellationToken cancellationToken)
    {
        if (_loaded || _messages is null)
        {
            return;
        }

        await _loadGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_loaded)
            {
                return;
            }

            await foreach (var record in _messages.GetTransfersAsync(cancellationToken).ConfigureAwait(false))
            {
                _transfers.TryAdd(record.TransferId, FromRecord(record));
            }

            _loaded = true;
        }
        finally
        {
            _loadGate.Release();
        }
    }

    private Transfer FromRecord(TransferRecord record) => new()
    {
        Id = record.TransferId,
        Direction = record.Direction,
        PeerId = record.PeerId,
        ConversationId = record.ConversationId,
        FileName = record.FileName,
        Size = record.Size,
        MediaType = record.MediaType,
        ChunkSize = record.ChunkSize,
        Sha256 = record.Sha256,
        CreatedAt = record.CreatedAt,
        Meter = NewMeter(),
        ChatMessageId = record.ChatMessageId,
        SourcePath = record.SourcePath,
        FileId = record.FileId,
        Reason = record.Reason,
        VerifiedBytes = record.VerifiedBytes,
        Bytes = record.VerifiedBytes,
        // A transfer that was running when the process stopped resumes as paused.
        State = record.State == TransferState.InProgress ? TransferState.Paused : record.State,
    };

    private void ReportProgress(Transfer transfer, long bytes)
    {
        if (transfer.Meter.TryReport(transfer.Id, bytes, transfer.Size, force: bytes == transfer.Size) is { } progress)
        {
            Publish(new TransferProgressed(transfer.Snapshot(), progress));
        }
    }

    private void ReportPreparing(Transfer transfer, long done, long total) =>
        Publish(new TransferPreparing(transfer.Snapshot(), TransferPreparation.CheckingResumedPrefix, done, total));

    private void Publish(TransferEvent transferEvent)
    {
        _events.Publish(transferEvent);
        try
        {
            TransferChanged?.Invoke(this, transferEvent);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A subscriber's bug must not break the transfer; it is logged with the event it choked on.
            LogSubscriberFailed(transferEvent.GetType().Name, ex);
        }
    }

    /// <summary>
    /// The transfer a frame of <paramref name="session"/> names, only when it belongs to that session's peer: a frame
    /// naming another peer's transfer is treated as naming an unknown one.
    /// </summary>
    private bool TryFind(IPeerSession session, string transferId, Direction? direction, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Transfer? transfer)
    {
        if (_transfers.TryGetValue(transferId, out var found) && (direction is null || found.Direction == direction) && found.BelongsTo(session))
        {
            transfer = found;
            return true;
        }

        transfer = null;
        return false;
    }

    private Transfer Find(string transferId, Direction? direction)
    {
        ArgumentException.ThrowIfNullOrEmpty(transferId);
        return _transfers.TryGetValue(transferId, out var transfer) && (direction is null || transfer.Direction == direction)
            ? transfer
            : throw new KeyNotFoundException($"No {direction switch { Direction.Incoming => "incoming ", Direction.Outgoing => "outgoing ", _ => "" }}transfer has the id '{transferId}'; GetTransfers() lists the known ones.");
    }

    /// <summary>
    /// The chunk size a new transfer is offered with: the setting, capped by the frame size and, on a link whose rate
    /// the session has measured, by <see cref="FileTransferOptions.ChunkMilliseconds"/> of it (whole KiB, at least 4).
    /// </summary>
    private int EffectiveChunkSize(IPeerSession? session)
    {
        if (session is null)
        {
            return _options.ChunkSize;
        }

        var largest = Math.Min(_options.ChunkSize, session.MaxFrameBodySize - ChunkFrame.Overhead);
        var rate = session.BulkBytesPerSecond;
        if (_options.ChunkMilliseconds == 0 || rate <= 0)
        {
            return largest;
        }

        var fit = rate / 1000 * _options.ChunkMilliseconds / 1024 * 1024;
        return (int)Math.Clamp(fit, Math.Min(MinLinkChunkSize, largest), largest);
    }

    private ProgressMeter NewMeter() => new(_time, _options.ProgressInterval);

    private async Task<(string MediaType, Preview? Preview)> PreparePreviewAsync(string path, string name, ReadOnlyMemory<byte> header, CancellationToken cancellationToken)
    {
        foreach (var generator in _previews)
        {
            if (generator.Sniff(header.Span) is not { } mediaType)
            {
                continue;
            }

            if (!File.Exists(path))
            {
                return (mediaType, null);
            }

            try
            {
                var result = await generator.GenerateAsync(path, new PreviewOptions { MaxThumbnailBytes = _options.MaxPreviewBytes }, cancellationToken).ConfigureAwait(false);
                if (result.Preview is { } preview && preview.Thumbnail.Length <= _options.MaxPreviewBytes)
                {
                    return (mediaType, preview);
                }

                LogNoPreview(name, generator.Name, result.Reason ?? "the thumbnail is too large");
            }
            catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
            {
                // A preview is optional: the offer goes without one, and the generator's failure is logged.
                LogNoPreview(name, generator.Name, ex.Message);
            }

            return (mediaType, null);
        }

        return (MediaTypes.FromName(name), null);
    }

    private static OfferFrame ToOfferFrame(Transfer transfer) => new()
    {
        TransferId = transfer.Id,
        FileName = transfer.FileName,
        Size = transfer.Size,
        MediaType = transfer.MediaType,
        ChunkSize = transfer.ChunkSize,
        Sha256 = transfer.Sha256 is { Length: 32 } sha ? sha : null,
        Preview = transfer.Preview is { } p ? new PreviewFrame
        {
            Thumbnail = p.Thumbnail,
            ThumbnailMediaType = p.ThumbnailMediaType,
            Width = p.Width,
            Height = p.Height,
            SourceMediaType = p.SourceMediaType,
            SourceWidth = p.SourceWidth,
            SourceHeight = p.SourceHeight,
            DurationMilliseconds = p.Duration is { } d ? (long)d.TotalMilliseconds : null,
        } : null,
        Caption = transfer.Caption,
        ChatMessageId = transfer.ChatMessageId,
    };

    private static Preview? ToPreview(PreviewFrame? frame) => frame is null ? null : new Preview
    {
        Thumbnail = frame.Thumbnail,
        ThumbnailMediaType = frame.ThumbnailMediaType,
        Width = frame.Width,
        Height = frame.Height,
        SourceMediaType = frame.SourceMediaType,
        SourceWidth = frame.SourceWidth,
        SourceHeight = frame.SourceHeight,
        Duration = frame.DurationMilliseconds is { } ms ? TimeSpan.FromMilliseconds(Math.Clamp(ms, 0, (long)TimeSpan.FromDays(365).TotalMilliseconds)) : null,
    };

    private static (FrameKind, byte[]) FailFrameFor(Transfer transfer, string reason) =>
        (TransferFrameKinds.Fail, ControlFrameCodec.Write(new FailFrame { TransferId = transfer.Id, Reason = reason }));

    private static (FrameKind, byte[]) FinalFrameFor(Transfer transfer) => transfer.State switch
    {
        TransferState.Cancelled => (TransferFrameKinds.Cancel, ControlFrameCodec.Write(new CancelFrame { TransferId = transfer.Id, Reason = transfer.Reason })),
        _ => FailFrameFor(transfer, transfer.Reason ?? $"the transfer is already {transfer.State}"),
    };

    private static string Suffix(string? reason) => string.IsNullOrWhiteSpace(reason) ? "" : $": {reason}";

    public async ValueTask DisposeAsync()
    {
        foreach (var transfer in _transfers.Values)
        {
            await CancelRunAsync(transfer).ConfigureAwait(false);
            await transfer.Run.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            await CloseWriterAsync(transfer).ConfigureAwait(false);
        }
    }

    public void Dispose()
    {
        // The container disposes synchronously when the host does; the async path does the same work.
        DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    /// <summary>Logs a refused offer within the budget: a peer flooding offers cannot flood the log (each is still rejected).</summary>
    private void LogRefusedOffer(string transferId, string problem)
    {
        if (_offerLogBudget.TryTake(out var leftOut))
        {
            if (leftOut > 0)
            {
                LogOffersNotLogged(leftOut);
            }

            LogOfferRefused(transferId, problem);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused {Count} more offers without logging each (at most 10 lines per 10 s)")]
    private partial void LogOffersNotLogged(long count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused offer {TransferId}: {Problem}")]
    private partial void LogOfferRefused(string transferId, string problem);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Transfer {TransferId} failed at chunk {Index}: {Problem}")]
    private partial void LogChunkRefused(string transferId, long index, string problem);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Transfer {TransferId}: chunk {Expected} is missing (chunk {Got} came); asked the sender to resend from byte {Offset}")]
    private partial void LogGap(string transferId, long expected, long got, long offset);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Dropped chunk {Index} of transfer {TransferId}, which is {State}")]
    private partial void LogChunkDropped(string transferId, long index, TransferState state);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Ignored a {State} notice for unknown transfer {TransferId}")]
    private partial void LogUnknownTransfer(string transferId, TransferState state);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Frame of kind {Kind} not sent: {Reason}")]
    private partial void LogNotSent(int kind, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not delete the partial file {FileId} of transfer {TransferId}")]
    private partial void LogDeleteFailed(string transferId, string fileId, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not close the stored file of transfer {TransferId}")]
    private partial void LogWriterCloseFailed(string transferId, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "A TransferChanged subscriber threw on {Event}")]
    private partial void LogSubscriberFailed(string @event, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "No preview for {Name} from {Generator}: {Reason}")]
    private partial void LogNoPreview(string name, string generator, string reason);
}
