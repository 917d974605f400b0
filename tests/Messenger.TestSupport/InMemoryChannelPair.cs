namespace Messenger.TestSupport;

/// <summary>Two connected in-memory data channels: what one sends, the other receives.</summary>
public sealed class InMemoryChannelPair : IAsyncDisposable
{
    private InMemoryChannelPair(InMemoryDataChannel a, InMemoryDataChannel b)
    {
        A = a;
        B = b;
    }

    /// <summary>The first end.</summary>
    public InMemoryDataChannel A { get; }

    /// <summary>The second end.</summary>
    public InMemoryDataChannel B { get; }

    /// <summary>Creates an open pair.</summary>
    /// <param name="options">Bandwidth, latency, loss; null for a fast, perfect link.</param>
    /// <param name="label">The channel label.</param>
    /// <returns>The pair.</returns>
    public static InMemoryChannelPair Create(InMemoryChannelOptions? options = null, string label = "messenger")
    {
        options ??= new InMemoryChannelOptions();
        var a = new InMemoryDataChannel(label, options, seed: options.Seed);
        var b = new InMemoryDataChannel(label, options, seed: unchecked(options.Seed * 31 + 7));
        InMemoryDataChannel.Connect(a, b);
        return new InMemoryChannelPair(a, b);
    }

    /// <summary>Cuts the link at once, as a dropped connection: queued messages are lost and both ends close.</summary>
    public void Disconnect()
    {
        A.Abort();
        B.Abort();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        Disconnect();
        await A.DisposeAsync().ConfigureAwait(false);
        await B.DisposeAsync().ConfigureAwait(false);
    }
}
