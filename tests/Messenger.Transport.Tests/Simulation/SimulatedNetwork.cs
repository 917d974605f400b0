using Messenger.Transport.Sctp;

namespace Messenger.Transport.Tests.Simulation;

/// <summary>
/// Two associations joined by an in-memory lossy link, driven by a virtual clock: a priority queue of timed packet
/// deliveries plus each association's own timer deadline. Nothing sleeps; a seed replays a run exactly.
/// </summary>
public sealed class SimulatedNetwork
{
    // Packets on the plain path arrive in send order, so a FIFO per direction suffices; only jittered ones need the heap.
    private readonly PriorityQueue<Delivery, (TimeSpan, long)> _inFlight = new();
    private readonly Queue<(TimeSpan Arrival, Delivery Delivery)>[] _fifo = [new(), new()];

    // Thousands of packets can be in flight at once, more than ArrayPool.Shared keeps; recycle our own buffers.
    private readonly Stack<byte[]> _spare = new();
    private readonly Random _random;
    private readonly byte[] _buffer = new byte[65536];
    private readonly TimeSpan[] _linkFree = new TimeSpan[2];
    private long _sequence;
    private TimeSpan _lastStep = TimeSpan.MinValue;
    private int _stuckSteps;

    public SimulatedNetwork(int seed, LinkConditions conditions, SctpAssociationOptions? options = null)
        : this(seed, conditions, conditions, options)
    {
    }

    public SimulatedNetwork(int seed, LinkConditions aToB, LinkConditions bToA, SctpAssociationOptions? options = null)
    {
        Seed = seed;
        _random = new Random(seed);
        var baseOptions = options ?? new SctpAssociationOptions { RtoMin = TimeSpan.FromMilliseconds(250), RtoInitial = TimeSpan.FromMilliseconds(500) };
        BaseOptions = baseOptions;
        A = new SimulatedPeer("A", baseOptions with { RandomSeed = seed * 2 });
        B = new SimulatedPeer("B", baseOptions with { RandomSeed = (seed * 2) + 1 });
        Conditions = [aToB, bToA];
    }

    public int Seed { get; }

    private SctpAssociationOptions BaseOptions { get; }

    /// <summary>Replaces A with a brand-new association, as if its process restarted; packets in flight still arrive.</summary>
    public void RestartA(int seed) => A = new SimulatedPeer("A'", BaseOptions with { RandomSeed = seed });

    public SimulatedPeer A { get; private set; }

    public SimulatedPeer B { get; }

    public LinkConditions[] Conditions { get; }

    public TimeSpan Now { get; private set; }

    public long PacketsSent { get; private set; }

    /// <summary>Packets dropped because the bottleneck queue was full (<see cref="LinkConditions.QueueLimit"/>).</summary>
    public long QueueDrops { get; private set; }

    /// <summary>Drops a packet when it returns true; arguments are the direction (0 = A to B) and the packet.</summary>
    public Func<int, byte[], bool>? DropFilter { get; set; }

    /// <summary>Called on every step right after both peers sent what they could; sees flight sizes at their peak.</summary>
    public Action<SimulatedNetwork>? AfterSend { get; set; }

    /// <summary>Called around every packet handed to a peer (true: to A): before, then after it was handled.</summary>
    public Action<SimulatedNetwork, bool>? BeforeDelivery { get; set; }

    public Action<SimulatedNetwork, bool>? AfterDelivery { get; set; }

    /// <summary>Called on every step, before waiting; lets a test feed data as the sender drains.</summary>
    public Action<SimulatedNetwork>? OnStep { get; set; }

    /// <summary>Advances the virtual clock until <paramref name="done"/> holds or <paramref name="limit"/> of virtual time passed.</summary>
    public bool RunUntil(Func<bool> done, TimeSpan limit)
    {
        var end = Now + limit;
        while (true)
        {
            OnStep?.Invoke(this);
            Flush(A, 0);
            Flush(B, 1);
            AfterSend?.Invoke(this);
            if (done())
            {
                return true;
            }

            // A silent peer has vanished: its timers never fire.
            var next = A.Silent ? TimeSpan.MaxValue : A.Association.NextDeadline;
            next = !B.Silent && B.Association.NextDeadline < next ? B.Association.NextDeadline : next;
            if (_inFlight.TryPeek(out _, out var head) && head.Item1 < next)
            {
                next = head.Item1;
            }

            foreach (var fifo in _fifo)
            {
                if (fifo.TryPeek(out var first) && first.Arrival < next)
                {
                    next = first.Arrival;
                }
            }

            if (next > end)
            {
                Now = end;
                return done();
            }

            if (next == _lastStep && ++_stuckSteps > 100_000)
            {
                throw new InvalidOperationException($"The simulation stopped advancing at {Now}; a timer deadline is never cleared. {Describe()}");
            }

            if (next != _lastStep)
            {
                _stuckSteps = 0;
                _lastStep = next;
            }

            Now = next > Now ? next : Now;
            while (TryTakeDue(out var delivery))
            {
                var target = delivery.ToA ? A : B;
                if (!target.Silent)
                {
                    BeforeDelivery?.Invoke(this, delivery.ToA);
                    target.Association.HandlePacket(delivery.Packet.AsSpan(0, delivery.Length), Now);
                    AfterDelivery?.Invoke(this, delivery.ToA);
                }

                _spare.Push(delivery.Packet);
            }

            foreach (var peer in (SimulatedPeer[])[A, B])
            {
                if (peer.Association.NextDeadline <= Now && !peer.Silent)
                {
                    peer.Association.HandleTimeout(Now);
                }
            }
        }
    }

    /// <summary>A one-line summary for assertion messages, seed first so a failure replays.</summary>
    public string Describe() =>
        $"seed {Seed}, t={Now.TotalSeconds:F1}s, {Conditions[0]}; " +
        $"A {A.Association.State} [{string.Join(",", A.Events.Select(e => e.Kind))}] received {A.ReceivedCount}; " +
        $"B {B.Association.State} [{string.Join(",", B.Events.Select(e => e.Kind))}] received {B.ReceivedCount}; " +
        $"A->B: {Sender(A)}; B->A: {Sender(B)}; B holds {B.Association.PendingReassemblyFragments} fragments, {B.Association.PendingOrderedMessages} ordered";

    private static string Sender(SimulatedPeer p) =>
        $"outstanding {p.Association.OutstandingChunks}, flight {p.Association.FlightSize}, cwnd {p.Association.CongestionWindow}, " +
        $"queued {p.Association.QueuedBytes}, rto {p.Association.Rto.TotalMilliseconds} ms, next {p.Association.NextDeadline}, {p.Association.DebugState}";

    private bool TryTakeDue(out Delivery delivery)
    {
        // Take the earliest due packet among the heap and both FIFOs, so ordering matches a single timeline.
        var best = -1;
        var bestTime = TimeSpan.MaxValue;
        if (_inFlight.TryPeek(out _, out var head) && head.Item1 <= Now)
        {
            best = 2;
            bestTime = head.Item1;
        }

        for (var i = 0; i < 2; i++)
        {
            if (_fifo[i].TryPeek(out var first) && first.Arrival <= Now && first.Arrival < bestTime)
            {
                best = i;
                bestTime = first.Arrival;
            }
        }

        switch (best)
        {
            case 2:
                delivery = _inFlight.Dequeue();
                return true;
            case 0 or 1:
                delivery = _fifo[best].Dequeue().Delivery;
                return true;
            default:
                delivery = default;
                return false;
        }
    }

    public void Run(TimeSpan duration) => RunUntil(() => false, duration);

    private void Flush(SimulatedPeer peer, int direction)
    {
        while (peer.Association.TryPollEvent(out var e))
        {
            peer.Record(e);
        }

        int length;
        while (!peer.Silent && (length = peer.Association.PollPacket(_buffer, Now)) > 0)
        {
            PacketsSent++;
            Transmit(_buffer.AsSpan(0, length), direction);
            while (peer.Association.TryPollEvent(out var e))
            {
                peer.Record(e);
            }
        }
    }

    private void Transmit(ReadOnlySpan<byte> packet, int direction)
    {
        var c = Conditions[direction];

        // Serialization at the link's bandwidth queues packets behind each other, as a real bottleneck does.
        var start = _linkFree[direction] > Now ? _linkFree[direction] : Now;
        if (c.Bandwidth > 0 && c.QueueLimit > TimeSpan.Zero && start - Now > c.QueueLimit)
        {
            QueueDrops++;
            return;
        }

        if (c.Bandwidth > 0)
        {
            start += TimeSpan.FromTicks(packet.Length * TimeSpan.TicksPerSecond / c.Bandwidth);
            _linkFree[direction] = start;
        }

        if (_random.NextDouble() < c.Loss || (DropFilter is not null && DropFilter(direction, packet.ToArray())))
        {
            return;
        }

        var copies = _random.NextDouble() < c.Duplication ? 2 : 1;
        for (var i = 0; i < copies; i++)
        {
            var arrival = start + c.Delay;
            var jittered = _random.NextDouble() < c.Reordering;
            if (jittered)
            {
                arrival += TimeSpan.FromTicks((long)(_random.NextDouble() * c.ReorderJitter.Ticks));
            }

            var copy = packet.Length <= 2048 && _spare.TryPop(out var spare) ? spare : new byte[Math.Max(2048, packet.Length)];
            packet.CopyTo(copy);
            var delivery = new Delivery(direction == 1, copy, packet.Length);
            if (jittered)
            {
                _inFlight.Enqueue(delivery, (arrival, _sequence++));
            }
            else
            {
                _fifo[direction].Enqueue((arrival, delivery));
            }
        }
    }

    private readonly record struct Delivery(bool ToA, byte[] Packet, int Length);
}
