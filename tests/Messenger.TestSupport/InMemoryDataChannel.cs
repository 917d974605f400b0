using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Channels;
using Messenger.Contracts.Channels;

namespace Messenger.TestSupport;

/// <summary>
/// One end of an in-memory data channel. Sends queue and count in <see cref="BufferedAmount"/> until the link has
/// carried them (at the configured bandwidth, into a bounded receive queue), and the low signal fires without polling.
/// </summary>
public sealed class InMemoryDataChannel : IDataChannel
{
    private readonly InMemoryChannelOptions _options;
    private readonly Random _random;
    private readonly Lock _gate = new();
    private readonly Channel<DataChannelMessage> _outbound = Channel.CreateUnbounded<DataChannelMessage>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Channel<DataChannelMessage> _inbound;
    private readonly CancellationTokenSource _aborted = new();
    private TaskCompletionSource _low = Completed();
    private InMemoryDataChannel? _peer;
    private Task _pump = Task.CompletedTask;
    private long _buffered;
    private long _threshold;
    private DataChannelState _state = DataChannelState.Open;
    private long _messagesDropped;

    internal InMemoryDataChannel(string label, InMemoryChannelOptions options, int seed)
    {
        Label = label;
        _options = options;
        _random = new Random(seed);
        _inbound = Channel.CreateBounded<DataChannelMessage>(new BoundedChannelOptions(options.ReceiveQueueCapacity)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <inheritdoc />
    public event EventHandler<DataChannelState>? StateChanged;

    /// <inheritdoc />
    public string Label { get; }

    /// <inheritdoc />
    public DataChannelState State
    {
        get
        {
            lock (_gate)
            {
                return _state;
            }
        }
    }

    /// <inheritdoc />
    public int MaxMessageSize => _options.MaxMessageSize;

    /// <inheritdoc />
    public long BufferedAmount => Interlocked.Read(ref _buffered);

    /// <summary>The highest <see cref="BufferedAmount"/> seen, for backpressure assertions.</summary>
    public long PeakBufferedAmount { get; private set; }

    /// <summary>Messages this end's link dropped on purpose (<see cref="InMemoryChannelOptions.LossRate"/>).</summary>
    public long MessagesDropped => Interlocked.Read(ref _messagesDropped);

    /// <summary>
    /// Called as Send accepts each message, with the buffered amount before it, under the channel's lock: a test's
    /// view of the exact order and state in which the sender wrote, whatever the receiving side's scheduling.
    /// </summary>
    public Action<ReadOnlyMemory<byte>, long>? Sending { get; set; }

    /// <inheritdoc />
    public long BufferedAmountLowThreshold
    {
        get => Interlocked.Read(ref _threshold);
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            lock (_gate)
            {
                _threshold = value;
                UpdateLowSignal();
            }
        }
    }

    /// <inheritdoc />
    public void Send(ReadOnlySpan<byte> data) => Enqueue(data.ToArray(), isText: false);

    /// <inheritdoc />
    public void SendText(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        Enqueue(Encoding.UTF8.GetBytes(text), isText: true);
    }

    /// <inheritdoc />
    public ValueTask WaitForBufferedAmountLowAsync(CancellationToken cancellationToken = default)
    {
        Task low;
        lock (_gate)
        {
            low = _low.Task;
        }

        return new ValueTask(low.WaitAsync(cancellationToken));
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<DataChannelMessage> ReceiveAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (await _inbound.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            while (_inbound.Reader.TryRead(out var message))
            {
                yield return message;
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask CloseAsync(CancellationToken cancellationToken = default)
    {
        var peer = _peer!;
        BeginClose();
        peer.BeginClose();

        // Queued messages still go out; each end's receive stream ends once the other's link has drained.
        await Task.WhenAll(_pump, peer._pump).WaitAsync(cancellationToken).ConfigureAwait(false);
        SetClosed();
        peer.SetClosed();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        Abort();
        try
        {
            await _pump.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The pump ends by cancellation on abort.
        }

        _aborted.Dispose();
    }

    internal static void Connect(InMemoryDataChannel a, InMemoryDataChannel b)
    {
        a._peer = b;
        b._peer = a;
        a._pump = Task.Run(a.PumpAsync);
        b._pump = Task.Run(b.PumpAsync);
    }

    /// <summary>Drops everything queued and closes this end at once.</summary>
    internal void Abort()
    {
        lock (_gate)
        {
            if (_state == DataChannelState.Closed && _aborted.IsCancellationRequested)
            {
                return;
            }
        }

        _aborted.Cancel();
        _outbound.Writer.TryComplete();
        _peer?._inbound.Writer.TryComplete();
        Interlocked.Exchange(ref _buffered, 0);
        SetClosed();
    }

    private static TaskCompletionSource Completed()
    {
        var source = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        source.SetResult();
        return source;
    }

    private void Enqueue(byte[] data, bool isText)
    {
        if (data.Length > MaxMessageSize)
        {
            throw new ArgumentException($"The message is {data.Length} bytes; the peer accepts at most {MaxMessageSize}.", nameof(data));
        }

        lock (_gate)
        {
            if (_state != DataChannelState.Open)
            {
                throw new DataChannelClosedException($"Cannot send on data channel '{Label}': it is {_state}.");
            }

            Sending?.Invoke(data, _buffered);
            _buffered += data.Length;
            PeakBufferedAmount = Math.Max(PeakBufferedAmount, _buffered);
            UpdateLowSignal();
            _outbound.Writer.TryWrite(new DataChannelMessage(data, isText));
        }

    }

    private async Task PumpAsync()
    {
        // Two stages: the link serialises messages at the bandwidth, then each spends the latency "on the wire"
        // (pipelined, as on a real path), and is delivered in order into the peer's bounded receive queue.
        var wire = Channel.CreateBounded<(DataChannelMessage Message, long DueAt)>(new BoundedChannelOptions(_options.ReceiveQueueCapacity) { SingleReader = true, SingleWriter = true });
        var delivery = Task.Run(() => DeliverFromWireAsync(wire.Reader));
        var time = _options.TimeProvider;
        var token = _aborted.Token;
        var nextFree = time.GetTimestamp();
        var latencyTicks = (long)(_options.Latency.TotalSeconds * time.TimestampFrequency);
        try
        {
            await foreach (var message in _outbound.Reader.ReadAllAsync(token).ConfigureAwait(false))
            {
                var now = time.GetTimestamp();
                if (_options.BandwidthBytesPerSecond is { } bandwidth)
                {
                    // Serialisation delay: the link is busy until the previous message has left.
                    nextFree = Math.Max(nextFree, now) + (long)(message.Data.Length / bandwidth * time.TimestampFrequency);
                    var wait = time.GetElapsedTime(now, nextFree);
                    if (wait > TimeSpan.FromMilliseconds(1))
                    {
                        await Task.Delay(wait, time, token).ConfigureAwait(false);
                    }
                }

                await wire.Writer.WriteAsync((message, Math.Max(nextFree, now) + latencyTicks), token).ConfigureAwait(false);
                Transmitted(message.Data.Length);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Aborted: the delivery stage ends too.
        }
        finally
        {
            wire.Writer.TryComplete();
            await delivery.ConfigureAwait(false);
        }
    }

    private async Task DeliverFromWireAsync(ChannelReader<(DataChannelMessage Message, long DueAt)> wire)
    {
        var time = _options.TimeProvider;
        var token = _aborted.Token;
        DataChannelMessage? held = null;
        try
        {
            await foreach (var (message, dueAt) in wire.ReadAllAsync(token).ConfigureAwait(false))
            {
                var wait = time.GetElapsedTime(time.GetTimestamp(), dueAt);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, time, token).ConfigureAwait(false);
                }

                if (Chance(_options.LossRate))
                {
                    Interlocked.Increment(ref _messagesDropped);
                }
                else if (held is null && Chance(_options.ReorderRate))
                {
                    held = message;
                }
                else
                {
                    await DeliverAsync(message, token).ConfigureAwait(false);
                    if (held is { } late)
                    {
                        held = null;
                        await DeliverAsync(late, token).ConfigureAwait(false);
                    }
                }
            }

            if (held is { } last)
            {
                await DeliverAsync(last, token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Aborted: undelivered messages are lost, as on a dropped connection.
        }
        catch (ChannelClosedException)
        {
            // The peer aborted: nothing more can be delivered.
        }
        finally
        {
            _peer!._inbound.Writer.TryComplete();
        }
    }

    private ValueTask DeliverAsync(DataChannelMessage message, CancellationToken token) => _peer!._inbound.Writer.WriteAsync(message, token);

    private bool Chance(double probability)
    {
        if (probability <= 0)
        {
            return false;
        }

        lock (_random)
        {
            return _random.NextDouble() < probability;
        }
    }

    private void Transmitted(int bytes)
    {
        lock (_gate)
        {
            _buffered = Math.Max(0, _buffered - bytes);
            UpdateLowSignal();
        }
    }

    private void UpdateLowSignal()
    {
        // Closed channels count as low so waiters wake and see the state.
        var low = _buffered <= _threshold || _state is DataChannelState.Closing or DataChannelState.Closed;
        if (low)
        {
            _low.TrySetResult();
        }
        else if (_low.Task.IsCompleted)
        {
            _low = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    private void BeginClose()
    {
        var changed = false;
        lock (_gate)
        {
            if (_state == DataChannelState.Open)
            {
                _state = DataChannelState.Closing;
                changed = true;
                UpdateLowSignal();
            }
        }

        _outbound.Writer.TryComplete();
        if (changed)
        {
            StateChanged?.Invoke(this, DataChannelState.Closing);
        }
    }

    private void SetClosed()
    {
        bool changed;
        lock (_gate)
        {
            changed = _state != DataChannelState.Closed;
            _state = DataChannelState.Closed;
            UpdateLowSignal();
        }

        if (changed)
        {
            StateChanged?.Invoke(this, DataChannelState.Closed);
        }
    }
}
