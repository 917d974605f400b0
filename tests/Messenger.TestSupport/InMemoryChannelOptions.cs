namespace Messenger.TestSupport;

/// <summary>How an in-memory channel pair behaves: bandwidth, latency and, for robustness tests, seeded loss and reordering.</summary>
public sealed record InMemoryChannelOptions
{
    /// <summary>Bytes per second each direction carries, or null for as fast as the receiver reads.</summary>
    public double? BandwidthBytesPerSecond { get; init; }

    /// <summary>One-way delay of every message.</summary>
    public TimeSpan Latency { get; init; }

    /// <summary>The probability a message is silently dropped (a real data channel never does; protocols above must cope).</summary>
    public double LossRate { get; init; }

    /// <summary>The probability a message is held back and delivered after the next one.</summary>
    public double ReorderRate { get; init; }

    /// <summary>The seed of the loss and reordering decisions, so a failure replays.</summary>
    public int Seed { get; init; }

    /// <summary>The largest message either side accepts.</summary>
    public int MaxMessageSize { get; init; } = 256 * 1024;

    /// <summary>How many messages a receiver holds unread, and how many may be on the wire, before the link stops (the receive window).</summary>
    public int ReceiveQueueCapacity { get; init; } = 64;

    /// <summary>The clock used for bandwidth and latency.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
