using System.Buffers;
using Messenger.Contracts.Channels;
using Messenger.Contracts.Framing;

namespace Messenger.Host.Framing;

/// <summary>
/// The one writer of a data channel. Interactive frames go first, always; bulk frames go only while the channel's
/// buffered amount is at or below the threshold, awaiting the channel's low signal (never polling), taking one frame
/// from each open bulk lane in turn so producers share the lane fairly. The threshold follows the rate the channel
/// drains at, so an interactive frame waits about the same few milliseconds behind bulk on a fast or a slow link.
/// </summary>
internal sealed class SendScheduler : IAsyncDisposable
{
    private static readonly TimeSpan RateSampleInterval = TimeSpan.FromMilliseconds(10);
    private const int RateSamplesBeforeReported = 10;
    private int _rateSamples;
    private readonly IDataChannel _channel;
    private readonly long _maxThreshold;
    private readonly long _minThreshold;
    private readonly TimeSpan _queueDelay;
    private readonly TimeProvider _time;
    private long _bulkThreshold;
    private long _written;
    private long _sampleStart;
    private long _sampleDrained;
    private double _rate;
    private long _measuredRate;
    private readonly Lock _gate = new();
    private readonly Queue<PendingFrame> _interactive = new();
    private readonly List<BulkLane> _lanes = [];
    private readonly Task _pump;
    private TaskCompletionSource _work = NewSignal();
    private int _nextLane;
    private Exception? _stopped;

    public SendScheduler(IDataChannel channel, long bulkThreshold)
        : this(channel, new FramingOptions { BulkBufferThreshold = bulkThreshold, BulkQueueDelay = TimeSpan.Zero }, TimeProvider.System)
    {
    }

    public SendScheduler(IDataChannel channel, FramingOptions options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegative(options.BulkBufferThreshold);
        _channel = channel;
        _time = time;
        _maxThreshold = options.BulkBufferThreshold;
        _queueDelay = options.BulkQueueDelay;
        _minThreshold = Math.Min(Math.Max(0, options.BulkBufferMinimum), _maxThreshold);

        // Adaptive: start at the minimum (a slow link, or one still in slow start, is not flooded before its rate is
        // known: a chat frame would wait behind all of it); a fast link's rate lifts it within a few samples.
        _bulkThreshold = _queueDelay > TimeSpan.Zero ? _minThreshold : _maxThreshold;
        _channel.BufferedAmountLowThreshold = _bulkThreshold;
        _pump = Task.Run(PumpAsync);
    }

    /// <summary>The buffered amount bulk is written up to now.</summary>
    public long BulkThreshold => Interlocked.Read(ref _bulkThreshold);

    /// <summary>
    /// The drain rate measured while bulk was waiting (bytes per second, a moving average); 0 until it rests on
    /// <see cref="RateSamplesBeforeReported"/> samples (the first ones, while a link ramps up, read low).
    /// </summary>
    public long BulkRate => Interlocked.Read(ref _measuredRate);

    /// <summary>Bytes and frames written so far, by lane.</summary>
    public SchedulerCounters Counters { get; } = new();

    /// <summary>Completes when the scheduler has stopped writing.</summary>
    public Task Completion => _pump;

    public ValueTask SendInteractiveAsync(FrameKind kind, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        var frame = PendingFrame.Create(kind, body.Span, isBulk: false);
        lock (_gate)
        {
            ThrowIfStopped(frame);
            _interactive.Enqueue(frame);
            _work.TrySetResult();
        }

        return frame.WaitAsync(cancellationToken);
    }

    public IBulkLane OpenLane(string name)
    {
        var lane = new BulkLane(this, name);
        lock (_gate)
        {
            if (_stopped is not null)
            {
                throw new DataChannelClosedException("The session has ended.", _stopped);
            }

            _lanes.Add(lane);
        }

        return lane;
    }

    /// <summary>Stops writing; every queued frame fails with <paramref name="reason"/>.</summary>
    public void Stop(Exception reason)
    {
        List<PendingFrame> dropped = [];
        lock (_gate)
        {
            if (_stopped is not null)
            {
                return;
            }

            _stopped = reason;
            dropped.AddRange(_interactive);
            _interactive.Clear();
            foreach (var lane in _lanes)
            {
                if (lane.Pending is { } pending)
                {
                    dropped.Add(pending);
                    lane.Pending = null;
                }
            }

            _lanes.Clear();
            _work.TrySetResult();
        }

        foreach (var frame in dropped)
        {
            frame.Fail(reason);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Stop(new DataChannelClosedException("The session has ended."));
        await _pump.ConfigureAwait(false);
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private void ThrowIfStopped(PendingFrame frame)
    {
        if (_stopped is not null)
        {
            frame.ReturnBuffer();
            throw new DataChannelClosedException("The session has ended.", _stopped);
        }
    }

    private async Task PumpAsync()
    {
        while (true)
        {
            PendingFrame? next = null;
            Task wait;
            if (_channel.State is DataChannelState.Closing or DataChannelState.Closed)
            {
                Stop(new DataChannelClosedException("The data channel closed."));
            }

            lock (_gate)
            {
                if (_stopped is not null)
                {
                    return;
                }

                next = TakeInteractive();
                var bulkPending = AnyBulkPending();
                if (next is null && bulkPending)
                {
                    var buffered = _channel.BufferedAmount;
                    AdaptThreshold(buffered);
                    if (buffered <= _bulkThreshold)
                    {
                        next = TakeBulkRoundRobin();
                    }
                }

                if (next is null)
                {
                    if (_work.Task.IsCompleted)
                    {
                        _work = NewSignal();
                    }

                    if (!bulkPending)
                    {
                        // Idle time says nothing about the link's rate: the next sample starts when bulk is back.
                        _sampleStart = 0;
                    }

                    // Bulk is waiting on the channel's low signal, or nothing is queued: sleep until either changes.
                    wait = AnyBulkPending()
                        ? Task.WhenAny(_channel.WaitForBufferedAmountLowAsync().AsTask(), _work.Task)
                        : _work.Task;
                }
                else
                {
                    wait = Task.CompletedTask;
                }
            }

            if (next is null)
            {
                await wait.ConfigureAwait(false);
                continue;
            }

            Write(next);
        }
    }

    /// <summary>
    /// Measures the rate the channel drains at (bytes written minus still buffered, over at least 10 ms while bulk is
    /// waiting) and sets the threshold to that rate times the queue delay. Called under the lock, on the pump.
    /// </summary>
    private void AdaptThreshold(long buffered)
    {
        if (_queueDelay <= TimeSpan.Zero)
        {
            return;
        }

        var now = _time.GetTimestamp();
        var drained = _written - buffered;
        if (_sampleStart == 0)
        {
            _sampleStart = now;
            _sampleDrained = drained;
            return;
        }

        var elapsed = _time.GetElapsedTime(_sampleStart, now);
        if (elapsed < RateSampleInterval)
        {
            return;
        }

        var rate = (drained - _sampleDrained) / elapsed.TotalSeconds;
        _sampleStart = now;
        _sampleDrained = drained;
        _rate = _rate <= 0 ? rate : (_rate * 0.75) + (rate * 0.25);
        if (++_rateSamples >= RateSamplesBeforeReported)
        {
            Interlocked.Exchange(ref _measuredRate, (long)_rate);
        }
        var threshold = Math.Clamp((long)(_rate * _queueDelay.TotalSeconds), _minThreshold, _maxThreshold);
        if (threshold != _bulkThreshold)
        {
            Interlocked.Exchange(ref _bulkThreshold, threshold);
            _channel.BufferedAmountLowThreshold = threshold;
        }
    }

    private void Write(PendingFrame frame)
    {
        try
        {
            // The encoded frame's pooled array goes to the channel as it is: no second copy.
            if (frame.TakeBuffer() is { } buffer)
            {
                _channel.SendPooled(buffer, frame.Length);
            }
        }
        catch (Exception ex) when (ex is DataChannelClosedException or ObjectDisposedException)
        {
            frame.Fail(ex);
            Stop(ex);
            return;
        }

        _written += frame.Length;
        Counters.Record(frame.IsBulk, frame.Length);
        frame.Complete();
    }

    private PendingFrame? TakeInteractive()
    {
        while (_interactive.TryDequeue(out var frame))
        {
            if (frame.TryTake())
            {
                return frame;
            }
        }

        return null;
    }

    private bool AnyBulkPending()
    {
        foreach (var lane in _lanes)
        {
            if (lane.Pending is not null)
            {
                return true;
            }
        }

        return false;
    }

    private PendingFrame? TakeBulkRoundRobin()
    {
        for (var i = 0; i < _lanes.Count; i++)
        {
            var index = (_nextLane + i) % _lanes.Count;
            var lane = _lanes[index];
            if (lane.Pending is { } frame)
            {
                lane.Pending = null;
                if (frame.TryTake())
                {
                    _nextLane = index + 1;
                    return frame;
                }
            }
        }

        return null;
    }

    private ValueTask EnqueueBulk(BulkLane lane, FrameKind kind, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        var frame = PendingFrame.Create(kind, body.Span, isBulk: true);
        lock (_gate)
        {
            ThrowIfStopped(frame);
            if (lane.Closed)
            {
                frame.ReturnBuffer();
                throw new ObjectDisposedException(lane.Name, "The bulk lane is closed.");
            }

            if (lane.Pending is { IsWithdrawn: true } withdrawn)
            {
                withdrawn.ReturnBuffer();
                lane.Pending = null;
            }

            if (lane.Pending is not null)
            {
                frame.ReturnBuffer();
                throw new InvalidOperationException($"Bulk lane '{lane.Name}' already has a send outstanding; await each send.");
            }

            lane.Pending = frame;
            _work.TrySetResult();
        }

        return frame.WaitAsync(cancellationToken);
    }

    private void CloseLane(BulkLane lane)
    {
        PendingFrame? pending;
        lock (_gate)
        {
            lane.Closed = true;
            pending = lane.Pending;
            lane.Pending = null;
            _lanes.Remove(lane);
        }

        pending?.Fail(new ObjectDisposedException(lane.Name, "The bulk lane was closed."));
    }

    /// <summary>A frame waiting to be written, with the task its sender awaits.</summary>
    private sealed class PendingFrame
    {
        private const int Queued = 0;
        private const int Taken = 1;
        private const int Withdrawn = 2;

        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private byte[]? _buffer;
        private int _state;
        private CancellationTokenRegistration _cancellation;

        private PendingFrame(byte[] buffer, int length, bool isBulk)
        {
            _buffer = buffer;
            Length = length;
            IsBulk = isBulk;
        }

        public int Length { get; }

        public bool IsBulk { get; }

        public ReadOnlySpan<byte> Bytes => _buffer.AsSpan(0, Length);

        public static PendingFrame Create(FrameKind kind, ReadOnlySpan<byte> body, bool isBulk)
        {
            var (buffer, length) = FrameCodec.EncodePooled(kind, body);
            return new PendingFrame(buffer, length, isBulk);
        }

        public bool IsWithdrawn => Volatile.Read(ref _state) == Withdrawn;

        public ValueTask WaitAsync(CancellationToken cancellationToken)
        {
            if (cancellationToken.CanBeCanceled)
            {
                _cancellation = cancellationToken.Register(static state =>
                {
                    var (frame, token) = ((PendingFrame, CancellationToken))state!;
                    frame.Withdraw(token);
                }, (this, cancellationToken));
            }

            return new ValueTask(_done.Task);
        }

        /// <summary>The pump claims the frame for writing; false when its sender withdrew it.</summary>
        public bool TryTake()
        {
            if (Interlocked.CompareExchange(ref _state, Taken, Queued) == Queued)
            {
                return true;
            }

            ReturnBuffer();
            return false;
        }

        public void Complete()
        {
            ReturnBuffer();
            _cancellation.Dispose();
            _done.TrySetResult();
        }

        public void Fail(Exception reason)
        {
            Interlocked.CompareExchange(ref _state, Withdrawn, Queued);
            ReturnBuffer();
            _cancellation.Dispose();
            _done.TrySetException(reason is DataChannelClosedException or ObjectDisposedException
                ? reason
                : new DataChannelClosedException("The session has ended.", reason));
        }

        /// <summary>Hands the encoded frame's pooled array over (the channel returns it); null when already returned.</summary>
        public byte[]? TakeBuffer() => Interlocked.Exchange(ref _buffer, null);

        public void ReturnBuffer()
        {
            var buffer = Interlocked.Exchange(ref _buffer, null);
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        private void Withdraw(CancellationToken token)
        {
            // Once taken the frame is being written; the sender then sees completion, not cancellation.
            if (Interlocked.CompareExchange(ref _state, Withdrawn, Queued) == Queued)
            {
                _done.TrySetCanceled(token);
            }
        }
    }

    /// <summary>One producer's place in the bulk round-robin.</summary>
    private sealed class BulkLane(SendScheduler owner, string name) : IBulkLane
    {
        public string Name { get; } = name;

        /// <summary>The lane's one outstanding frame, guarded by the scheduler's lock.</summary>
        public PendingFrame? Pending { get; set; }

        public bool Closed { get; set; }

        public ValueTask SendAsync(FrameKind kind, ReadOnlyMemory<byte> body, CancellationToken cancellationToken = default) =>
            owner.EnqueueBulk(this, kind, body, cancellationToken);

        public ValueTask DisposeAsync()
        {
            owner.CloseLane(this);
            return ValueTask.CompletedTask;
        }
    }
}
