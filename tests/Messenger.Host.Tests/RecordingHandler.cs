using System.Threading.Channels;
using Messenger.Contracts.Framing;

namespace Messenger.Host.Tests;

/// <summary>A handler that records every frame it gets and can be told to fail.</summary>
internal sealed class RecordingHandler(string name, params int[] kinds) : IFrameHandler
{
    private readonly Channel<(FrameKind Kind, byte[] Body)> _frames = Channel.CreateUnbounded<(FrameKind, byte[])>();

    public string Name { get; } = name;

    public IReadOnlyCollection<FrameKind> Kinds { get; } = kinds.Select(k => new FrameKind(k)).ToArray();

    public Func<FrameKind, ReadOnlyMemory<byte>, Exception?> Fail { get; set; } = (_, _) => null;

    public ValueTask HandleFrameAsync(IPeerSession session, FrameKind kind, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        if (Fail(kind, body) is { } failure)
        {
            throw failure;
        }

        _frames.Writer.TryWrite((kind, body.ToArray()));
        return ValueTask.CompletedTask;
    }

    public async Task<(FrameKind Kind, byte[] Body)> NextAsync() =>
        await _frames.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

    public IAsyncEnumerable<(FrameKind Kind, byte[] Body)> ReadAllAsync(CancellationToken cancellationToken) => _frames.Reader.ReadAllAsync(cancellationToken);
}
