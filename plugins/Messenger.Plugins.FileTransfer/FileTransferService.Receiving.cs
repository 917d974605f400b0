using System.Buffers;
using System.Security.Cryptography;
using Messenger.Contracts.FileTransfer;
using Messenger.Contracts.Framing;
using Messenger.Contracts.Storage;
using Messenger.Plugins.FileTransfer.Protocol;

namespace Messenger.Plugins.FileTransfer;

/// <summary>The receiving side: offers, accepting (and resuming), chunks and the end marker, driving <see cref="ReceivingMachine"/> and the transfer's <see cref="IncomingWriter"/>.</summary>
internal sealed partial class FileTransferService
{
    private async Task OnOfferAsync(IPeerSession session, OfferFrame offer, CancellationToken cancellationToken)
    {
        if (ValidateOffer(session, offer) is { } problem)
        {
            LogRefusedOffer(offer.TransferId, problem);
            if (await CountRefusedOfferAsync(session).ConfigureAwait(false))
            {
                return;
            }

            var refused = new TransferInfo
            {
                TransferId = offer.TransferId,
                Direction = Direction.Incoming,
                FileName = OfferedFileName.Sanitise(offer.FileName is { Length: <= OfferedFileName.MaxRawLength } name ? name : ""), // nil from a hostile peer too
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
                LogRefusedOffer(offer.TransferId, "the id names a transfer that does not belong to this peer");
                if (await CountRefusedOfferAsync(session).ConfigureAwait(false))
                {
                    return;
                }

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
            LogRefusedOffer(offer.TransferId, "conflicts with an earlier offer of that id");
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

    /// <summary>
    /// Counts a refused offer of this session; true once past <see cref="FileTransferOptions.MaxRefusedOffersPerSession"/>,
    /// when the session has been closed with the reason instead of answering.
    /// </summary>
    private async ValueTask<bool> CountRefusedOfferAsync(IPeerSession session)
    {
        var refused = _refusedOffers.AddOrUpdate(session.SessionId, 1, static (_, n) => n + 1);
        if (refused <= _options.MaxRefusedOffersPerSession)
        {
            return false;
        }

        try
        {
            await session.CloseAsync($"the peer sent more than {_options.MaxRefusedOffersPerSession} offers this side had to reject").ConfigureAwait(false);
        }
        catch (NotSupportedException)
        {
            // A session that cannot be closed: keep rejecting (each costs one small frame).
            return false;
        }

        return true;
    }

    /// <summary>
    /// Null when the store's disk can hold <paramref name="offer"/> on top of what the unfinished incoming transfers
    /// still need (keeping <see cref="FileTransferOptions.MinFreeDiskBytes"/> free), else why not. Unknown free space passes.
    /// </summary>
    private string? CheckDiskSpace(OfferFrame offer)
    {
        if (_files?.AvailableBytes is not { } free)
        {
            return null;
        }

        var pending = _transfers.Values
            .Where(t => t.Direction == Direction.Incoming && !t.IsFinal && !string.Equals(t.Id, offer.TransferId, StringComparison.Ordinal))
            .Sum(t => Math.Max(0, t.Size - t.VerifiedBytes));
        var needed = pending + offer.Size + _options.MinFreeDiskBytes;
        return needed <= free
            ? null
            : $"the receiver's disk has {free:N0} bytes free; this {offer.Size:N0}-byte file, {pending:N0} bytes still due in unfinished transfers and {_options.MinFreeDiskBytes:N0} kept free need {needed:N0}";
    }

    /// <summary>Unfinished incoming transfers of this peer, other than <paramref name="except"/> (a resumed offer is no new one).</summary>
    private int OpenIncoming(IPeerSession session, string except) =>
        _transfers.Values.Count(t => t.Direction == Direction.Incoming && !t.IsFinal && t.BelongsTo(session) && !string.Equals(t.Id, except, StringComparison.Ordinal));

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
            _ when OpenIncoming(session, offer.TransferId) >= _options.MaxOpenIncomingTransfers =>
                $"this peer already has {_options.MaxOpenIncomingTransfers} unfinished incoming transfers here; finish or cancel some first",
            _ when !_transfers.ContainsKey(offer.TransferId) && CheckDiskSpace(offer) is { } full => full,
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
                await HashPrefixAsync(hash, stored, offset, done => ReportPreparing(transfer, done, offset), cancellationToken).ConfigureAwait(false);
            }

            return hash;
        }
        catch
        {
            hash.Dispose();
            throw;
        }
    }

    /// <summary>Hashes the first <paramref name="length"/> bytes; <paramref name="progress"/> hears of it at the start, every 64 MiB and at the end.</summary>
    private static async Task HashPrefixAsync(IncrementalHash hash, Stream stream, long length, Action<long> progress, CancellationToken cancellationToken)
    {
        if (length == 0)
        {
            return;
        }

        const long ProgressEvery = 64L << 20;
        var buffer = ArrayPool<byte>.Shared.Rent(1024 * 1024);
        try
        {
            progress(0);
            var nextReport = ProgressEvery;
            for (long left = length; left > 0;)
            {
                var read = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    throw new IOException($"the file ended {left} bytes before the {length}-byte prefix");
                }

                hash.AppendData(buffer, 0, read);
                left -= read;
                if (length - left >= nextReport || left == 0)
                {
                    progress(length - left);
                    nextReport = length - left + ProgressEvery;
                }
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
}
