namespace Messenger.Transport.Tests.Simulation;

/// <summary>How the simulated link mistreats packets, per direction.</summary>
public sealed record LinkConditions
{
    public double Loss { get; init; }

    public double Duplication { get; init; }

    /// <summary>Probability that a packet gets extra random delay, so it overtakes or is overtaken.</summary>
    public double Reordering { get; init; }

    public TimeSpan Delay { get; init; } = TimeSpan.FromMilliseconds(20);

    public TimeSpan ReorderJitter { get; init; } = TimeSpan.FromMilliseconds(30);

    /// <summary>Bytes per second; zero means unlimited.</summary>
    public long Bandwidth { get; init; }

    /// <summary>
    /// With <see cref="Bandwidth"/>: the longest a packet may wait behind the bottleneck; one that would wait longer is
    /// dropped (a tail-drop router queue). Zero means the queue never overflows.
    /// </summary>
    public TimeSpan QueueLimit { get; init; }

    public static LinkConditions Lossless { get; } = new();

    public override string ToString() =>
        $"loss {Loss:P0}, dup {Duplication:P0}, reorder {Reordering:P0}, delay {Delay.TotalMilliseconds} ms, bw {Bandwidth}, queue {QueueLimit.TotalMilliseconds} ms";
}
