using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Threading.Channels;
using Messenger.Contracts.Storage;
using Messenger.Plugins.FileTransfer.Protocol;

namespace Messenger.Plugins.FileTransfer;

/// <summary>
/// One incoming transfer's writer, on a task of its own: it stores the checked chunks the frame handler hands it, hashes
/// them as they are stored, flushes and acks every ack interval, opens the sender's window as it writes, and checks the
/// whole-file SHA-256 at End. The frame handler only checks a chunk and copies it in, so a slow disk delays neither chat
/// nor another transfer; the sender's window keeps the queue here at most about one window long.
/// </summary>
/// <remarks>
/// The writer never takes the transfer's gate: whoever holds the gate stops it (<see cref="StopAsync"/>) or drains it
/// (<see cref="DrainAsync"/>) and awaits the loop, then owns the store writer again. The service awaits <see cref="Loop"/>
/// and acts on Verified and Failed under the gate, if this writer is still the transfer's.
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The loop disposes its own cancellation source when it ends; StopAsync tolerates that.")]
internal sealed class IncomingWriter
{
    private readonly Transfer _transfer;
    private readonly IStoredFileWriter _writer;
    private readonly IncrementalHash _hash;
    private readonly StoringMachine _machine;
    private readonly Callbacks _callbacks;
    private readonly Channel<Item> _items;
    private readonly CancellationTokenSource _stop = new();

    // Chunk buffers go round between the handler and the loop: at most the queue's capacity of them, made once.
    private readonly ConcurrentQueue<byte[]> _free = new();
    private long _verified;

    /// <param name="transfer">The transfer; the writer updates its byte counts.</param>
    /// <param name="writer">The store writer, positioned at <paramref name="offset"/>.</param>
    /// <param name="hash">SHA-256 of the first <paramref name="offset"/> bytes so far; the writer owns it from now on.</param>
    /// <param name="offset">Where writing starts (the verified prefix).</param>
    /// <param name="ackInterval">Bytes between durable acks.</param>
    /// <param name="window">The window the sender was given; credit is reported every eighth of it.</param>
    /// <param name="callbacks">What the writer asks of the service.</param>
    public IncomingWriter(Transfer transfer, IStoredFileWriter writer, IncrementalHash hash, long offset, long ackInterval, long window, Callbacks callbacks)
    {
        _transfer = transfer;
        _writer = writer;
        _hash = hash;
        _verified = offset;
        _machine = new StoringMachine(transfer.Size, transfer.ChunkSize, offset, ackInterval, window);
        _callbacks = callbacks;
        // A sender that keeps to the window never fills this; one that does not waits here, and behind it the frame
        // handler's inbox and then the data channel's receive window hold it back.
        var capacity = (int)Math.Clamp((window / transfer.ChunkSize) + 2, 4, 1 << 16);
        _items = Channel.CreateBounded<Item>(new BoundedChannelOptions(capacity) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });
        Loop = RunAsync();
    }

    /// <summary>What the writer needs from the service.</summary>
    /// <param name="Save">Records the transfer (after a durable flush).</param>
    /// <param name="SendAck">Sends an ack to the peer; never throws.</param>
    /// <param name="Progress">Reports the bytes written.</param>
    public sealed record Callbacks(Func<Transfer, ValueTask> Save, Func<AckFrame, Task> SendAck, Action<long> Progress);

    /// <summary>How the loop ended.</summary>
    public enum Outcome
    {
        /// <summary>Stopped by <see cref="StopAsync"/>: whoever stopped it owns the transfer.</summary>
        Stopped,

        /// <summary>Drained by <see cref="DrainAsync"/>: everything queued is written and flushed.</summary>
        Drained,

        /// <summary>End arrived and the stored file matches size and SHA-256.</summary>
        Verified,

        /// <summary>The check at End failed, or the store did; <see cref="FailureReason"/> says which.</summary>
        Failed,
    }

    /// <summary>The loop; completes with its outcome and never faults.</summary>
    public Task<Outcome> Loop { get; }

    /// <summary>Why the loop failed.</summary>
    public string? FailureReason { get; private set; }

    /// <summary>True when the failure was the check at End (the peer hears Verify(false)), not the store.</summary>
    public bool FailedCheck { get; private set; }

    /// <summary>The durable prefix: bytes flushed.</summary>
    public long VerifiedBytes => Interlocked.Read(ref _verified);

    /// <summary>The store writer (for the service once the loop is over).</summary>
    public IStoredFileWriter StoreWriter => _writer;

    /// <summary>Queues a checked chunk; the payload is copied. False when the writer no longer takes chunks.</summary>
    /// <param name="payload">The chunk's payload.</param>
    /// <param name="cancellationToken">Cancels the wait for room.</param>
    /// <returns>Whether it was queued.</returns>
    public async ValueTask<bool> EnqueueAsync(ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        if (!_free.TryDequeue(out var buffer) || buffer.Length < payload.Length)
        {
            buffer = new byte[Math.Max(_transfer.ChunkSize, payload.Length)];
        }

        payload.Span.CopyTo(buffer);
        var item = new Item(buffer, payload.Length, null, IsEnd: false);
        if (_items.Writer.TryWrite(item))
        {
            return true;
        }

        try
        {
            await _items.Writer.WriteAsync(item, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is ChannelClosedException or OperationCanceledException)
        {
            _free.Enqueue(buffer);
            return false;
        }
    }

    /// <summary>Queues the end: after the chunks before it, the writer flushes and checks the file against <paramref name="sha256"/>.</summary>
    /// <param name="sha256">The whole file's SHA-256 (32 bytes).</param>
    /// <returns>False when the writer no longer takes items.</returns>
    public bool TryEnd(byte[] sha256)
    {
        if (!_items.Writer.TryWrite(new Item(null, 0, sha256, IsEnd: true)))
        {
            return false;
        }

        _items.Writer.TryComplete();
        return true;
    }

    /// <summary>Stops at once (a write under way may be cut short) and waits for the loop. The store writer stays open.</summary>
    /// <returns>A task.</returns>
    public async Task StopAsync()
    {
        _items.Writer.TryComplete();
        try
        {
            await _stop.CancelAsync().ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            // The loop already ended and let go of its source.
        }

        await Loop.ConfigureAwait(false);
    }

    /// <summary>Writes and flushes everything queued, takes nothing more, and waits for the loop.</summary>
    /// <returns>The outcome (Drained, or what the loop had already reached).</returns>
    public async Task<Outcome> DrainAsync()
    {
        _items.Writer.TryComplete();
        return await Loop.ConfigureAwait(false);
    }

    private async Task<Outcome> RunAsync()
    {
        await Task.Yield();
        var token = _stop.Token;
        try
        {
            await foreach (var item in _items.Reader.ReadAllAsync(token).ConfigureAwait(false))
            {
                if (item.IsEnd)
                {
                    return await CheckAsync(item.Sha256!, token).ConfigureAwait(false);
                }

                try
                {
                    await _writer.WriteAsync(item.Buffer.AsMemory(0, item.Length), token).ConfigureAwait(false);
                    _hash.AppendData(item.Buffer!, 0, item.Length);
                }
                finally
                {
                    _free.Enqueue(item.Buffer!);
                }

                var action = _machine.OnStored(item.Length);
                var written = _machine.Written;
                Interlocked.Exchange(ref _transfer.Bytes, written);
                switch (action)
                {
                    case StoreAction.FlushSaveAndAck:
                        // Ack only what is durable, so a restart resumes from a prefix the store really holds.
                        await _writer.FlushAsync(token).ConfigureAwait(false);
                        _machine.OnFlushed();
                        Interlocked.Exchange(ref _verified, written);
                        _transfer.VerifiedBytes = written;
                        await _callbacks.Save(_transfer).ConfigureAwait(false);
                        await _callbacks.SendAck(new AckFrame { TransferId = _transfer.Id, VerifiedBytes = written, ReceivedBytes = written }).ConfigureAwait(false);
                        break;
                    case StoreAction.CreditAck:
                        await _callbacks.SendAck(new AckFrame { TransferId = _transfer.Id, VerifiedBytes = _machine.Verified, ReceivedBytes = written }).ConfigureAwait(false);
                        break;
                }

                _callbacks.Progress(written);
            }

            // Drained: what was queued is written; make it durable so the pause records a prefix the store holds.
            await _writer.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            _machine.OnFlushed();
            Interlocked.Exchange(ref _verified, _machine.Verified);
            return Outcome.Drained;
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            return Outcome.Stopped;
        }
        catch (IOException ex)
        {
            FailureReason = $"the receiver's store failed: {ex.Message}";
            return Outcome.Failed;
        }
        finally
        {
            _free.Clear();
            _hash.Dispose();
            _stop.Dispose();
        }
    }

    private async Task<Outcome> CheckAsync(byte[] sha256, CancellationToken token)
    {
        await _writer.FlushAsync(token).ConfigureAwait(false);
        _machine.OnFlushed();
        Interlocked.Exchange(ref _verified, _machine.Verified);

        // Hashed as it was stored: the store's own authentication covers the bytes at rest, so nothing is read back.
        Span<byte> digest = stackalloc byte[32];
        _hash.GetCurrentHash(digest);
        if (_machine.CheckEnd(_writer.Length, digest, sha256) is { } failure)
        {
            FailureReason = failure;
            FailedCheck = true;
            return Outcome.Failed;
        }

        return Outcome.Verified;
    }

    private readonly record struct Item(byte[]? Buffer, int Length, byte[]? Sha256, bool IsEnd);
}
