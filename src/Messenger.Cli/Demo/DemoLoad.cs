using Messenger.Contracts.Framing;

namespace Messenger.Cli.Demo;

/// <summary>
/// The demo's stand-in for a file transfer until the file-transfer plugin lands: a bulk stream of 16 KiB frames on
/// the bulk lane, counted by the receiving peer, so the demo shows chat latency while the channel is saturated.
/// </summary>
internal sealed class DemoLoad : IFrameHandler
{
    public static readonly FrameKind Kind = new(990);

    private long _bytes;

    public string Name => "Demo.Load";

    public IReadOnlyCollection<FrameKind> Kinds { get; } = [Kind];

    public long BytesReceived => Interlocked.Read(ref _bytes);

    /// <summary>Called with the running total after each frame.</summary>
    public Action<long>? OnReceived { get; set; }

    public ValueTask HandleFrameAsync(IPeerSession session, FrameKind kind, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        // Count payload bytes: the body is bin32 with a 5-byte header.
        var total = Interlocked.Add(ref _bytes, body.Length - 5);
        OnReceived?.Invoke(total);
        return ValueTask.CompletedTask;
    }

    /// <summary>Sends <paramref name="totalBytes"/> of bulk frames, each a MessagePack bin of <paramref name="chunk"/> bytes.</summary>
    public static async Task SendAsync(IPeerSession session, long totalBytes, int chunk, IProgress<long> progress, CancellationToken cancellationToken)
    {
        await using var lane = session.OpenBulkLane("demo load");
        var body = new byte[chunk + 5];
        body[0] = 0xc6; // bin32: [0xc6, length big-endian, payload]
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(body.AsSpan(1), chunk);
        Random.Shared.NextBytes(body.AsSpan(5));
        for (long sent = 0; sent < totalBytes; sent += chunk)
        {
            await lane.SendAsync(Kind, body, cancellationToken).ConfigureAwait(false);
            progress.Report(sent + chunk);
        }
    }
}
