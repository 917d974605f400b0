using System.Buffers;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Threading.Channels;
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
/// </summary>
internal sealed partial class FileTransferService : IFileTransferService, IFrameHandler, IPeerSessionObserver, IAsyncDisposable, IDisposable
{
    private const int MaxCaptionLength = 4096;
    private const int MaxMediaTypeLength = 255;
    private const int MaxUnknownRepliesRemembered = 1024;

    private readonly FileTransferOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<FileTransferService> _logger;
    private readonly IReadOnlyList<IPreviewGenerator> _previews;
    private readonly IFileSource _source;
    private readonly IFileStore? _files;
    private readonly IMessageStore? _messages;
    private readonly ConcurrentDictionary<string, Transfer> _transfers = new(StringComparer.Ordinal);
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

    private async Task OnOfferAsync(IPeerSession session, OfferFrame offer, CancellationToken cancellationToken)
    {
        if (ValidateOffer(session, offer) is { } problem)
        {
            LogOfferRefused(offer.TransferId, problem);
            var refused = new TransferInfo
            {
                TransferId = offer.TransferId,
                Direction = Direction.Incoming,
                FileName = OfferedFileName.Sanitise(offer.FileName.Length <= OfferedFileName.MaxRawLength ? offer.FileName : ""),
                Size = Math.Max(0, offer.Size),
                MediaType = MediaTypes.Default,
                State = TransferState.Rejected,
                BytesTransferred = 0,
                Reason = $"refused an invalid offer: {problem}",
            };
            Publish(new TransferRejected(refused, ByPeer: false));
            await TrySendAsync(session, TransferFrameKinds.Reject, ControlFrameCodec.Write(new RejectFrame { TransferId = offer.TransferId, Reason = $"invalid offer: {problem}" })).ConfigureAwait(false);
            return;
        }

        if (_transfers.TryGetValue(offer.TransferId, out var known))
        {
            if (!known.BelongsTo(session))
            {
                // Another peer's transfer (or one recorded without its peer): never resumed into from this session.
                LogOfferRefused(offer.TransferId, "the id names a transfer that does not belong to this peer");
                await TrySendAsync(session, TransferFrameKinds.Reject, ControlFrameCodec.Write(new RejectFrame { TransferId = offer.TransferId, Reason = "this transfer cannot be resumed here; send the file again" })).ConfigureAwait(false);
                return;
            }

            await OnRepeatedOfferAsync(session, known, offer, cancellationToken).ConfigureAwait(false);
            return;
        }

        if (_files is null)
        {
            await TrySendAsync(session, TransferFrameKinds.Reject, ControlFrameCodec.Write(new RejectFrame { TransferId = offer.TransferId, Reason = "the receiver has no file store plugin loaded" })).ConfigureAwait(false);
            return;
        }

        var transfer = new Transfer
        {
            Id = offer.TransferId,
            Direction = Direction.Incoming,
            PeerId = session.PeerId,
            ConversationId = session.PeerId,
            FileName = OfferedFileName.Sanitise(offer.FileName),
            Size = offer.Size,
            MediaType = string.IsNullOrWhiteSpace(offer.MediaType) ? MediaTypes.Default : offer.MediaType,
            ChunkSize = offer.ChunkSize,
            Sha256 = offer.Sha256 ?? [],
            CreatedAt = _time.GetUtcNow(),
            Meter = NewMeter(),
            Preview = ToPreview(offer.Preview),
            Caption = offer.Caption,
            ChatMessageId = offer.ChatMessageId,
            FileId = "ft-" + offer.TransferId,
            State = TransferState.Offered,
        };
        if (!_transfers.TryAdd(transfer.Id, transfer))
        {
            return;
        }

        await SaveAsync(transfer).ConfigureAwait(false);
        Publish(new TransferOffered(transfer.Snapshot()));
        if (_options.AutoAcceptMaxBytes is { } limit && transfer.Size <= limit)
        {
            await AcceptCoreAsync(transfer, session, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task OnRepeatedOfferAsync(IPeerSession session, Transfer known, OfferFrame offer, CancellationToken cancellationToken)
    {
        if (known.Direction != Direction.Incoming || known.Size != offer.Size || known.ChunkSize != offer.ChunkSize
            || (known.Sha256.Length != 0 && offer.Sha256 is { Length: > 0 } sha && !known.Sha256.AsSpan().SequenceEqual(sha)))
        {
            LogOfferRefused(offer.TransferId, "conflicts with an earlier offer of that id");
            await TrySendAsync(session, TransferFrameKinds.Reject, ControlFrameCodec.Write(new RejectFrame { TransferId = offer.TransferId, Reason = "invalid offer: the transfer id is already used for a different file" })).ConfigureAwait(false);
            return;
        }

        // The sender re-offers after a reconnect or restart: answer with where this side stands.
        switch (known.State)
        {
            case TransferState.Paused or TransferState.InProgress:
                await AcceptCoreAsync(known, session, cancellationToken).ConfigureAwait(false);
                break;
            case TransferState.Completed:
                await TrySendAsync(session, TransferFrameKinds.Verify, ControlFrameCodec.Write(new VerifyFrame { TransferId = known.Id, Verified = true })).ConfigureAwait(false);
                break;
            case TransferState.Failed:
                await TrySendAsync(session, TransferFrameKinds.Fail, ControlFrameCodec.Write(new FailFrame { TransferId = known.Id, Reason = known.Reason ?? "failed" })).ConfigureAwait(false);
                break;
            case TransferState.Cancelled:
                await TrySendAsync(session, TransferFrameKinds.Cancel, ControlFrameCodec.Write(new CancelFrame { TransferId = known.Id, Reason = known.Reason })).ConfigureAwait(false);
                break;
            case TransferState.Rejected:
                await TrySendAsync(session, TransferFrameKinds.Reject, ControlFrameCodec.Write(new RejectFrame { TransferId = known.Id, Reason = known.Reason })).ConfigureAwait(false);
                break;
            default:
                // Still waiting for this side's user to decide.
                break;
        }
    }

    private string? ValidateOffer(IPeerSession session, OfferFrame offer)
    {
        var maxChunk = session.MaxFrameBodySize - ChunkFrame.Overhead;
        return offer switch
        {
            { Size: < 0 } => $"the size {offer.Size} is negative",
            _ when offer.Size > _options.MaxIncomingFileBytes => $"the file is {offer.Size} bytes; this peer accepts at most {_options.MaxIncomingFileBytes}",
            _ when offer.ChunkSize < 1 || offer.ChunkSize > maxChunk => $"the chunk size {offer.ChunkSize} is outside 1..{maxChunk}",
            _ when offer.Sha256 is not (null or { Length: 32 }) => "the SHA-256 must be 32 bytes (or nil: it comes with End)",
            _ when offer.FileName is null || offer.FileName.Length > OfferedFileName.MaxRawLength => $"the file name is missing or longer than {OfferedFileName.MaxRawLength} characters",
            _ when offer.MediaType is null || offer.MediaType.Length > MaxMediaTypeLength => $"the media type is missing or longer than {MaxMediaTypeLength} characters",
            _ when offer.Caption is { Length: > MaxCaptionLength } => $"the caption is longer than {MaxCaptionLength} characters",
            _ when offer.ChatMessageId is { } id && !TransferIds.IsValid(id) => "the chat message id is not 1 to 64 letters, digits, '-' or '_'",
            _ when offer.Preview is { } p && p.Thumbnail is null => "the preview has no thumbnail",
            _ when offer.Preview is { } p && p.Thumbnail.Length > _options.MaxPreviewBytes => $"the preview is {offer.Preview.Thumbnail.Length} bytes; at most {_options.MaxPreviewBytes} are accepted",
            _ when offer.Preview is { } p && (p.Width is < 1 or > 4096 || p.Height is < 1 or > 4096) => "the preview's dimensions are outside 1..4096",
            _ when offer.Preview is { } p && (p.ThumbnailMediaType is null or { Length: > MaxMediaTypeLength } || p.SourceMediaType is null or { Length: > MaxMediaTypeLength }) => "the preview's media types are missing or too long",
            _ => null,
        };
    }

    private async Task AcceptCoreAsync(Transfer transfer, IPeerSession session, CancellationToken cancellationToken)
    {
        await transfer.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (transfer.State is not (TransferState.Offered or TransferState.Paused or TransferState.InProgress))
            {
                return;
            }

            await StopIncomingAsync(transfer).ConfigureAwait(false);
            await CloseWriterAsync(transfer).ConfigureAwait(false);
            long offset;
            IncrementalHash hash;
            try
            {
                var writer = await _files!.OpenWriteAsync(transfer.FileId!, new StoredFileMetadata(transfer.FileName, transfer.MediaType), cancellationToken).ConfigureAwait(false);
                transfer.Writer = writer;
                // Only whole chunks count as verified; a torn tail is cut and asked for again.
                offset = ReceivingMachine.ResumeOffset(writer.Length, transfer.Size, transfer.ChunkSize);
                if (writer.Length != offset)
                {
                    await writer.TruncateAsync(offset, cancellationToken).ConfigureAwait(false);
                }

                hash = await HashStoredPrefixAsync(transfer, offset, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException ex)
            {
                await FinishLockedAsync(transfer, TransferState.Failed, $"could not open the file in the store: {ex.Message}", info => new TransferFailed(info), FailFrameFor(transfer, "the receiver's store failed"), deletePartial: false).ConfigureAwait(false);
                return;
            }

            byte[]? prefixSha = null;
            if (offset > 0)
            {
                prefixSha = hash.GetCurrentHash();
            }

            Interlocked.Exchange(ref transfer.Bytes, offset);
            transfer.VerifiedBytes = offset;
            var receiving = new ReceivingMachine(transfer.Size, transfer.ChunkSize, transfer.Sha256, _options.MaxGapRequests);
            receiving.Start(offset);
            transfer.Receiving = receiving;
            transfer.Session = session;
            transfer.State = TransferState.InProgress;
            transfer.Meter.Restart(offset);
            var incoming = new IncomingWriter(transfer, transfer.Writer!, hash, offset, _options.AckIntervalBytes, _options.ReceiveWindowBytes, new IncomingWriter.Callbacks(
                SaveAsync,
                ack => TrySendAsync(session, TransferFrameKinds.Ack, ControlFrameCodec.Write(ack)),
                bytes => ReportProgress(transfer, bytes)));
            transfer.Incoming = incoming;
            _ = WhenIncomingEndsAsync(transfer, incoming);
            await SaveAsync(transfer).ConfigureAwait(false);
            Publish(new TransferStarted(transfer.Snapshot(), offset));
            var accept = new AcceptFrame { TransferId = transfer.Id, ResumeOffset = offset, PrefixSha256 = prefixSha, WindowBytes = _options.ReceiveWindowBytes };
            await TrySendAsync(session, TransferFrameKinds.Accept, ControlFrameCodec.Write(accept)).ConfigureAwait(false);
        }
        finally
        {
            transfer.Gate.Release();
        }
    }

    /// <summary>
    /// SHA-256 of the stored prefix a resume continues from. This is the only time the receiver reads a file back: on
    /// resume, so the sender can prove its file begins with the same bytes.
    /// </summary>
    private async Task<IncrementalHash> HashStoredPrefixAsync(Transfer transfer, long offset, CancellationToken cancellationToken)
    {
        var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        if (offset == 0)
        {
            return hash;
        }

        try
        {
            var stored = await _files!.OpenReadAsync(transfer.FileId!, cancellationToken).ConfigureAwait(false);
            await using (stored.ConfigureAwait(false))
            {
                await HashPrefixAsync(hash, stored, offset, cancellationToken).ConfigureAwait(false);
            }

            return hash;
        }
        catch
        {
            hash.Dispose();
            throw;
        }
    }

    private static async Task HashPrefixAsync(IncrementalHash hash, Stream stream, long length, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(1024 * 1024);
        try
        {
            for (long left = length; left > 0;)
            {
                var read = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    throw new IOException($"the file ended {left} bytes before the {length}-byte prefix");
                }

                hash.AppendData(buffer, 0, read);
                left -= read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Acts on the writer's end: a verified file completes, a failed check or store fails the transfer.</summary>
    private async Task WhenIncomingEndsAsync(Transfer transfer, IncomingWriter incoming)
    {
        var outcome = await incoming.Loop.ConfigureAwait(false);
        if (outcome is IncomingWriter.Outcome.Stopped or IncomingWriter.Outcome.Drained)
        {
            return;
        }

        await transfer.Gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            if (!ReferenceEquals(transfer.Incoming, incoming) || transfer.State != TransferState.InProgress || transfer.Writer is not { } writer)
            {
                return;
            }

            transfer.Incoming = null;
            if (outcome == IncomingWriter.Outcome.Failed)
            {
                var reason = incoming.FailureReason ?? "the receiver's store failed";
                var notice = incoming.FailedCheck
                    ? (TransferFrameKinds.Verify, ControlFrameCodec.Write(new VerifyFrame { TransferId = transfer.Id, Verified = false, Reason = reason }))
                    : FailFrameFor(transfer, reason);
                await FinishLockedAsync(transfer, TransferState.Failed, reason, info => new TransferFailed(info), notice, deletePartial: true).ConfigureAwait(false);
                return;
            }

            try
            {
                await writer.CompleteAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (IOException ex)
            {
                var reason = $"the receiver could not complete the stored file: {ex.Message}";
                await FinishLockedAsync(transfer, TransferState.Failed, reason, info => new TransferFailed(info), FailFrameFor(transfer, reason), deletePartial: true).ConfigureAwait(false);
                return;
            }

            await CloseWriterAsync(transfer).ConfigureAwait(false);
            transfer.VerifiedBytes = transfer.Size;
            ReportProgress(transfer, transfer.Size);
            await FinishLockedAsync(transfer, TransferState.Completed, null, info => new TransferCompleted(info),
                (TransferFrameKinds.Verify, ControlFrameCodec.Write(new VerifyFrame { TransferId = transfer.Id, Verified = true })), deletePartial: false).ConfigureAwait(false);
        }
        finally
        {
            transfer.Gate.Release();
        }
    }

    /// <summary>Stops the incoming writer at once (cancel, failure, a new run); call under the gate.</summary>
    private static async Task StopIncomingAsync(Transfer transfer)
    {
        if (transfer.Incoming is { } incoming)
        {
            transfer.Incoming = null;
            await incoming.StopAsync().ConfigureAwait(false);
        }
    }

    private async Task OnChunkAsync(IPeerSession session, ChunkFrame chunk, CancellationToken cancellationToken)
    {
        if (!TryFind(session, chunk.TransferId, Direction.Incoming, out var transfer))
        {
            await ReplyUnknownAsync(session, chunk.TransferId).ConfigureAwait(false);
            throw new FrameFormatException($"a chunk for transfer '{chunk.TransferId}', which this peer is not receiving");
        }

        // Only checks under the gate; the store work is the transfer's writer's, so this handler moves on at once.
        IncomingWriter? incoming;
        await transfer.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            incoming = transfer.Incoming;
            if (transfer.State != TransferState.InProgress || !ReferenceEquals(transfer.Session, session) || incoming is null || transfer.Receiving is not { } receiving)
            {
                // Chunks still in flight when this side cancelled or failed: expected within one round trip.
                LogChunkDropped(transfer.Id, chunk.Index, transfer.State);
                return;
            }

            var expected = receiving.NextIndex;
            var decision = receiving.OnChunk(chunk.Index, chunk.Payload.Span, chunk.Crc32C);
            switch (decision.Action)
            {
                case ChunkAction.Drop:
                    LogChunkDropped(transfer.Id, chunk.Index, transfer.State);
                    return;
                case ChunkAction.AskResend:
                    LogGap(transfer.Id, expected, chunk.Index, decision.ResumeOffset);
                    var resend = new AcceptFrame { TransferId = transfer.Id, ResumeOffset = decision.ResumeOffset, WindowBytes = _options.ReceiveWindowBytes };
                    await TrySendAsync(session, TransferFrameKinds.Accept, ControlFrameCodec.Write(resend)).ConfigureAwait(false);
                    return;
                case ChunkAction.Fail:
                    LogChunkRefused(transfer.Id, chunk.Index, decision.Reason!);
                    await FinishLockedAsync(transfer, TransferState.Failed, decision.Reason, info => new TransferFailed(info), FailFrameFor(transfer, decision.Reason!), deletePartial: true).ConfigureAwait(false);
                    return;
            }
        }
        finally
        {
            transfer.Gate.Release();
        }

        // Outside the gate: a sender beyond its window waits here (and behind it the data channel), never a cancel.
        if (!await incoming.EnqueueAsync(chunk.Payload, cancellationToken).ConfigureAwait(false))
        {
            LogChunkDropped(transfer.Id, chunk.Index, transfer.State);
        }
    }

    private async Task OnEndAsync(IPeerSession session, EndFrame end, CancellationToken cancellationToken)
    {
        if (!TryFind(session, end.TransferId, Direction.Incoming, out var transfer))
        {
            await ReplyUnknownAsync(session, end.TransferId).ConfigureAwait(false);
            return;
        }

        await transfer.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (transfer.State != TransferState.InProgress || !ReferenceEquals(transfer.Session, session) || transfer.Incoming is not { } incoming
                || transfer.Receiving is not { } receiving)
            {
                return;
            }

            var decision = receiving.OnEnd(end.BytesSent, end.Sha256);
            switch (decision.Action)
            {
                case EndAction.Ignore:
                    return;
                case EndAction.Verify:
                    // The writer checks size and digest after the last chunk is stored; its end completes the transfer.
                    incoming.TryEnd(decision.Sha256!);
                    return;
            }

            var reason = decision.Reason!;
            await FinishLockedAsync(transfer, TransferState.Failed, reason, info => new TransferFailed(info), FailFrameFor(transfer, reason), deletePartial: true).ConfigureAwait(false);
        }
        finally
        {
            transfer.Gate.Release();
        }
    }

    private async Task OnAcceptAsync(IPeerSession session, AcceptFrame accept)
    {
        if (!TryFind(session, accept.TransferId, Direction.Outgoing, out var transfer))
        {
            await ReplyUnknownAsync(session, accept.TransferId).ConfigureAwait(false);
            return;
        }

        await transfer.Gate.WaitAsync(session.Ended).ConfigureAwait(false);
        try
        {
            if (transfer.IsFinal)
            {
                var (kind, body) = FinalFrameFor(transfer);
                await TrySendAsync(session, kind, body).ConfigureAwait(false);
                return;
            }

            var offset = accept.ResumeOffset;
            if (transfer.Sending.OnAccept(offset) is { } reason)
            {
                await FinishLockedAsync(transfer, TransferState.Failed, reason, info => new TransferFailed(info), FailFrameFor(transfer, reason), deletePartial: false).ConfigureAwait(false);
                return;
            }

            await CancelRunAsync(transfer).ConfigureAwait(false);
            var previous = transfer.Run;
            var cancellation = CancellationTokenSource.CreateLinkedTokenSource(session.Ended);
            transfer.RunCancellation = cancellation;
            transfer.Session = session;
            transfer.State = TransferState.InProgress;
            Interlocked.Exchange(ref transfer.Bytes, offset);
            transfer.Window.Reset(offset, accept.WindowBytes ?? 0);
            transfer.Meter.Restart(offset);
            await SaveAsync(transfer).ConfigureAwait(false);
            Publish(new TransferStarted(transfer.Snapshot(), offset));
            transfer.Run = SendRunAsync(transfer, session, offset, accept.PrefixSha256, previous, cancellation);
        }
        finally
        {
            transfer.Gate.Release();
        }
    }

    private async Task SendRunAsync(Transfer transfer, IPeerSession session, long offset, byte[]? receiverPrefix, Task previous, CancellationTokenSource cancellation)
    {
        // One run at a time per transfer, and never on the frame loop's thread.
        await previous.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ForceYielding);
        var token = cancellation.Token;
        try
        {
            var lane = session.OpenBulkLane($"file {transfer.Id}");
            await using (lane.ConfigureAwait(false))
            {
                var stream = _source.OpenRead(transfer.SourcePath!);
                await using (stream.ConfigureAwait(false))
                {
                    if (stream.Length != transfer.Size)
                    {
                        throw new IOException($"'{transfer.SourcePath}' is now {stream.Length} bytes; it was offered with {transfer.Size}");
                    }

                    // The digest covers the whole file, so a resumed run hashes the prefix it does not send.
                    using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                    await HashPrefixAsync(hash, stream, offset, token).ConfigureAwait(false);
                    if (transfer.Sending.OnPrefixHashed(hash.GetCurrentHash(), receiverPrefix) is { } mismatch)
                    {
                        await FailRunAsync(transfer, cancellation, mismatch).ConfigureAwait(false);
                        return;
                    }

                    await SendChunksAsync(transfer, lane, stream, offset, hash, token).ConfigureAwait(false);
                    var end = new EndFrame { TransferId = transfer.Id, BytesSent = transfer.Size, Sha256 = hash.GetHashAndReset() };

                    // Through the lane, so the end marker cannot overtake the chunks queued before it.
                    await lane.SendAsync(TransferFrameKinds.End, ControlFrameCodec.Write(end), token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Cancelled, or the session ended (the observer pauses the transfer).
        }
        catch (DataChannelClosedException)
        {
            // The session ended under the run; the observer pauses the transfer.
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            await FailRunAsync(transfer, cancellation, $"the sender could not read the file: {ex.Message}").ConfigureAwait(false);
        }
        finally
        {
            cancellation.Dispose();
        }
    }

    /// <summary>Fails the transfer from its send run, unless a newer run (or a final state) took over meanwhile.</summary>
    private async Task FailRunAsync(Transfer transfer, CancellationTokenSource run, string reason)
    {
        await transfer.Gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            if (ReferenceEquals(transfer.RunCancellation, run))
            {
                await FinishLockedAsync(transfer, TransferState.Failed, reason, info => new TransferFailed(info), FailFrameFor(transfer, reason), deletePartial: false).ConfigureAwait(false);
            }
        }
        finally
        {
            transfer.Gate.Release();
        }
    }

    private async Task SendChunksAsync(Transfer transfer, IBulkLane lane, Stream stream, long offset, IncrementalHash hash, CancellationToken cancellationToken)
    {
        var chunks = Channel.CreateBounded<(long Index, byte[] Buffer, int Length)>(
            new BoundedChannelOptions(_options.ReadAheadChunks) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });
        using var readCancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var reading = ReadChunksAsync(transfer, stream, offset, hash, chunks.Writer, readCancellation.Token);
        var frame = new ArrayBufferWriter<byte>(transfer.ChunkSize + ChunkFrame.Overhead);
        try
        {
            await foreach (var (index, buffer, length) in chunks.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                // The receiver's window: its writer, not the shared channel, is where a slow disk makes chunks wait.
                await transfer.Window.WaitForRoomAsync((index * transfer.ChunkSize) + length, cancellationToken).ConfigureAwait(false);
                try
                {
                    frame.ResetWrittenCount();
                    ChunkFrame.Write(frame, transfer.Id, index, buffer.AsSpan(0, length));
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }

                await lane.SendAsync(TransferFrameKinds.Chunk, frame.WrittenMemory, cancellationToken).ConfigureAwait(false);
                Interlocked.Increment(ref transfer.ChunksSent);
                var bytes = Interlocked.Add(ref transfer.Bytes, length);
                ReportProgress(transfer, bytes);
            }

            await reading.ConfigureAwait(false);
        }
        finally
        {
            await readCancellation.CancelAsync().ConfigureAwait(false);
            await reading.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            while (chunks.Reader.TryRead(out var left))
            {
                ArrayPool<byte>.Shared.Return(left.Buffer);
            }
        }
    }

    private static async Task ReadChunksAsync(Transfer transfer, Stream stream, long offset, IncrementalHash hash, ChannelWriter<(long, byte[], int)> chunks, CancellationToken cancellationToken)
    {
        await Task.Yield();
        try
        {
            for (long position = offset, index = offset / transfer.ChunkSize; position < transfer.Size; position += transfer.ChunkSize, index++)
            {
                var length = (int)Math.Min(transfer.ChunkSize, transfer.Size - position);
                byte[]? buffer = ArrayPool<byte>.Shared.Rent(length);
                try
                {
                    await stream.ReadExactlyAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
                    hash.AppendData(buffer, 0, length);
                    await chunks.WriteAsync((index, buffer, length), cancellationToken).ConfigureAwait(false);
                    buffer = null;
                }
                finally
                {
                    if (buffer is not null)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                    }
                }
            }

            chunks.Complete();
        }
        catch (Exception ex)
        {
            // Handed to the sending loop, which rethrows it from ReadAllAsync.
            chunks.Complete(ex);
        }
    }

    private async Task OnAckAsync(IPeerSession session, AckFrame ack)
    {
        if (TryFind(session, ack.TransferId, Direction.Outgoing, out var transfer) && !transfer.IsFinal)
        {
            var grew = transfer.Sending.OnAck(ack.VerifiedBytes, ack.ReceivedBytes);
            transfer.Window.OnReceived(transfer.Sending.ReceivedBytes);
            if (grew)
            {
                transfer.VerifiedBytes = transfer.Sending.VerifiedBytes;
                await SaveAsync(transfer).ConfigureAwait(false);
            }
        }
    }

    private async Task OnVerifyAsync(IPeerSession session, VerifyFrame verify)
    {
        if (!TryFind(session, verify.TransferId, Direction.Outgoing, out var transfer))
        {
            return;
        }

        await transfer.Gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            if (transfer.Sending.OnVerify(verify.Verified, verify.Reason) is { } failure)
            {
                await FinishLockedAsync(transfer, TransferState.Failed, failure, info => new TransferFailed(info), null, deletePartial: false).ConfigureAwait(false);
            }
            else
            {
                transfer.VerifiedBytes = transfer.Sending.VerifiedBytes;
                Interlocked.Exchange(ref transfer.Bytes, transfer.Size);
                await FinishLockedAsync(transfer, TransferState.Completed, null, info => new TransferCompleted(info), null, deletePartial: false).ConfigureAwait(false);
            }
        }
        finally
        {
            transfer.Gate.Release();
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

    private int EffectiveChunkSize(IPeerSession? session) =>
        session is null ? _options.ChunkSize : Math.Min(_options.ChunkSize, session.MaxFrameBodySize - ChunkFrame.Overhead);

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
