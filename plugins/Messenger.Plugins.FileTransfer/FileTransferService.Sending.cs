using System.Buffers;
using System.Security.Cryptography;
using System.Threading.Channels;
using Messenger.Contracts.Channels;
using Messenger.Contracts.FileTransfer;
using Messenger.Contracts.Framing;
using Messenger.Contracts.Storage;
using Messenger.Plugins.FileTransfer.Protocol;

namespace Messenger.Plugins.FileTransfer;

/// <summary>The sending side: runs started by the receiver's Accept, chunks read and hashed ahead within its window, acks and the verdict, driving <see cref="SendingMachine"/>.</summary>
internal sealed partial class FileTransferService
{
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
                    await HashPrefixAsync(hash, stream, offset, done => ReportPreparing(transfer, done, offset), token).ConfigureAwait(false);
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
}
