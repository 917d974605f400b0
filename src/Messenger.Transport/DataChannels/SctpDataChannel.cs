using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Channels;
using Messenger.Contracts.Channels;
using Messenger.Transport.Sctp;

namespace Messenger.Transport.DataChannels;

/// <summary>
/// A WebRTC data channel (RFC 8831) on one SCTP stream. Sends are queued to the loop that owns the association (a peer
/// connection's, or a <see cref="DataChannelConnection"/>'s); received messages arrive through a
/// <see cref="System.Threading.Channels.Channel{T}"/> in pooled buffers the reader may hand back with
/// <see cref="DataChannelMessage.Release"/>; the buffered-amount wait completes from the loop, never by polling.
/// </summary>
public sealed class SctpDataChannel : IDataChannel
{
    private readonly IDataChannelLoop _connection;
    private readonly Channel<DataChannelMessage> _incoming = Channel.CreateUnbounded<DataChannelMessage>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly Lock _gate = new();
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource? _lowWaiter;
    private long _bufferedAmount;
    private long _unreadBytes;
    private int _unreadReleased;
    private long _threshold;
    private int _state = (int)DataChannelState.Connecting;

    internal SctpDataChannel(IDataChannelLoop connection, ushort streamId, string label, DataChannelOptions options, int maxMessageSize)
    {
        _connection = connection;
        StreamId = streamId;
        Label = label;
        Options = options;
        MaxMessageSize = maxMessageSize;
        SendOptions = new SctpSendOptions(!options.Ordered, options.MaxRetransmits, options.MaxPacketLifeTime);
    }

    public ushort StreamId { get; }

    public string Label { get; }

    public DataChannelOptions Options { get; }

    public DataChannelState State => (DataChannelState)Volatile.Read(ref _state);

    public int MaxMessageSize { get; }

    public long BufferedAmount => Interlocked.Read(ref _bufferedAmount);

    public long BufferedAmountLowThreshold
    {
        get => Interlocked.Read(ref _threshold);
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            Interlocked.Exchange(ref _threshold, value);
            ReleaseLowWaiterIfLow();
        }
    }

    internal SctpSendOptions SendOptions { get; }

    // Loop-owned close bookkeeping (RFC 8831 §6.7: each side resets its outgoing stream).
    internal bool OutgoingResetDone { get; set; }

    internal bool IncomingResetDone { get; set; }

    internal bool OutgoingResetRequested { get; set; }

    public event EventHandler<DataChannelState>? StateChanged;

    public void Send(ReadOnlySpan<byte> data) => Enqueue(data, isText: false);

    /// <summary>Queues a pooled array as one binary message without copying it; SCTP returns it once acknowledged.</summary>
    public void SendPooled(byte[] rentedArray, int length)
    {
        ArgumentNullException.ThrowIfNull(rentedArray);
        if (length <= 0 || State != DataChannelState.Open || length > MaxMessageSize)
        {
            // Empty messages take the special PPID path; errors still hand the array back.
            try
            {
                Send(rentedArray.AsSpan(0, Math.Max(0, length)));
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(rentedArray);
            }

            return;
        }

        Interlocked.Add(ref _bufferedAmount, length);
        _connection.PostSend(this, DataChannelPpid.Binary, OutboundPayload.Rented(rentedArray, length, System.Buffers.ArrayPool<byte>.Shared));
    }

    public void SendText(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var bytes = Encoding.UTF8.GetBytes(text);
        Enqueue(bytes, isText: true);
    }

    private void Enqueue(ReadOnlySpan<byte> data, bool isText)
    {
        if (State != DataChannelState.Open)
        {
            throw new DataChannelClosedException($"Cannot send on data channel '{Label}' while it is {State}.");
        }

        if (data.Length > MaxMessageSize)
        {
            throw new ArgumentException($"The message is {data.Length} bytes; the peer accepts at most {MaxMessageSize}.", nameof(data));
        }

        // RFC 8831 §6.6: SCTP cannot carry an empty message, so it travels as one zero byte with its own PPID.
        var payload = OutboundPayload.Copy(data.IsEmpty ? [0] : data);
        var ppid = data.IsEmpty
            ? isText ? DataChannelPpid.StringEmpty : DataChannelPpid.BinaryEmpty
            : isText ? DataChannelPpid.String : DataChannelPpid.Binary;
        Interlocked.Add(ref _bufferedAmount, payload.Length);
        _connection.PostSend(this, ppid, payload);
    }

    public ValueTask WaitForBufferedAmountLowAsync(CancellationToken cancellationToken = default)
    {
        Task task;
        lock (_gate)
        {
            if (BufferedAmount <= BufferedAmountLowThreshold || State == DataChannelState.Closed)
            {
                return ValueTask.CompletedTask;
            }

            _lowWaiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            task = _lowWaiter.Task;
        }

        return new ValueTask(task.WaitAsync(cancellationToken));
    }

    public async IAsyncEnumerable<DataChannelMessage> ReceiveAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var message in _incoming.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            // Reading is what reopens the SCTP receive window, so a slow reader slows the sender (empty = 1 wire byte).
            var wireBytes = Math.Max(1, message.Data.Length);
            if (Volatile.Read(ref _unreadReleased) == 0)
            {
                Interlocked.Add(ref _unreadBytes, -wireBytes);
                _connection.ReportConsumed(wireBytes);
            }

            yield return message;
        }
    }

    /// <summary>Takes the next received message without waiting, as <see cref="ReceiveAllAsync"/> would (for a harness that drives time itself).</summary>
    internal bool TryReceive(out DataChannelMessage message)
    {
        if (!_incoming.Reader.TryRead(out message))
        {
            return false;
        }

        var wireBytes = Math.Max(1, message.Data.Length);
        if (Volatile.Read(ref _unreadReleased) == 0)
        {
            Interlocked.Add(ref _unreadBytes, -wireBytes);
            _connection.ReportConsumed(wireBytes);
        }

        return true;
    }

    public async ValueTask CloseAsync(CancellationToken cancellationToken = default)
    {
        if (TrySetState(DataChannelState.Connecting, DataChannelState.Closing) || TrySetState(DataChannelState.Open, DataChannelState.Closing))
        {
            _connection.PostClose(this);
        }

        await _closed.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => CloseAsync();

    /// <summary>Completes when the channel is closed.</summary>
    public Task Completion => _closed.Task;

    internal bool TrySetState(DataChannelState from, DataChannelState to)
    {
        if (Interlocked.CompareExchange(ref _state, (int)to, (int)from) != (int)from)
        {
            return false;
        }

        StateChanged?.Invoke(this, to);
        return true;
    }

    /// <summary>Queues a received message for the reader, lending it the pooled array.</summary>
    internal void Deliver(InboundMessage message, bool isText, bool empty)
    {
        Interlocked.Add(ref _unreadBytes, message.Length);
        var data = empty ? ReadOnlyMemory<byte>.Empty : message.Memory;
        if (!_incoming.Writer.TryWrite(MessageLease.Lend(message, data, isText)))
        {
            message.Release(); // closed meanwhile
        }
    }

    internal void OnBytesSent(long bytes)
    {
        lock (_gate)
        {
            Interlocked.Add(ref _bufferedAmount, -bytes);
        }

        ReleaseLowWaiterIfLow();
    }

    private void ReleaseLowWaiterIfLow()
    {
        TaskCompletionSource? waiter = null;
        lock (_gate)
        {
            if (_lowWaiter is not null && (BufferedAmount <= BufferedAmountLowThreshold || State == DataChannelState.Closed))
            {
                waiter = _lowWaiter;
                _lowWaiter = null;
            }
        }

        waiter?.TrySetResult();
    }

    /// <summary>Moves to Closed from any state: ends the receive stream and releases waiters.</summary>
    internal void MarkClosed()
    {
        var previous = (DataChannelState)Interlocked.Exchange(ref _state, (int)DataChannelState.Closed);
        _incoming.Writer.TryComplete();

        // Messages nobody reads after the close must not keep the association's receive window shut.
        if (Interlocked.Exchange(ref _unreadReleased, 1) == 0)
        {
            var unread = Interlocked.Exchange(ref _unreadBytes, 0);
            if (unread > 0)
            {
                _connection.ReportConsumed(unread);
            }
        }

        Interlocked.Exchange(ref _bufferedAmount, 0);
        ReleaseLowWaiterIfLow();
        if (previous != DataChannelState.Closed)
        {
            StateChanged?.Invoke(this, DataChannelState.Closed);
        }

        _closed.TrySetResult();
    }
}
