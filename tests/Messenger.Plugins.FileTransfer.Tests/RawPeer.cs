using System.Buffers;
using System.Security.Cryptography;
using System.Threading.Channels;
using MessagePack;
using Messenger.Contracts.Framing;
using Messenger.Plugins.FileTransfer.Protocol;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Messenger.Plugins.FileTransfer.Tests;

/// <summary>Host A without the plugin: the test crafts file-transfer frames by hand and reads B's replies.</summary>
internal sealed class RawPeer : IFrameHandler
{
    private readonly Channel<(FrameKind Kind, byte[] Body)> _frames = Channel.CreateUnbounded<(FrameKind, byte[])>();

    public string Name => "RawPeer";

    public IReadOnlyCollection<FrameKind> Kinds => TransferFrameKinds.All;

    public TransferPair Pair { get; private set; } = null!;

    /// <summary>The session the crafted frames go out on (the pair's side A, or one a test connected).</summary>
    public IPeerSession Session { get; set; } = null!;

    /// <summary>A host side without the plugin whose file-transfer frames reach <paramref name="peer"/>.</summary>
    public static SideOptions Side(RawPeer peer) => new() { WithFileTransfer = false, Services = s => s.TryAddEnumerable(ServiceDescriptor.Singleton<IFrameHandler>(peer)) };

    public static async Task<RawPeer> StartAsync(Action<FileTransferOptions>? receiver = null)
    {
        var peer = new RawPeer();
        peer.Pair = await TransferPair.StartAsync(
            a: Side(peer),
            b: new SideOptions { Transfer = TransferPair.Small(o => { o.AutoAcceptMaxBytes = long.MaxValue; receiver?.Invoke(o); }) });
        peer.Session = peer.Pair.SessionA;
        return peer;
    }

    public static OfferFrame Offer(byte[] content, string id = "t1", string name = "file.bin", int chunkSize = 1024) => new()
    {
        TransferId = id, FileName = name, Size = content.Length, MediaType = "application/octet-stream", ChunkSize = chunkSize, Sha256 = SHA256.HashData(content),
    };

    public ValueTask HandleFrameAsync(IPeerSession session, FrameKind kind, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        _frames.Writer.TryWrite((kind, body.ToArray()));
        return ValueTask.CompletedTask;
    }

    public ValueTask SendAsync<T>(FrameKind kind, T frame) => Session.SendAsync(kind, ControlFrameCodec.Write(frame));

    public ValueTask SendRawAsync(FrameKind kind, byte[] body) => Session.SendAsync(kind, body);

    public ValueTask SendChunkAsync(string id, long index, ReadOnlySpan<byte> payload, uint? crc = null)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(4);
        writer.Write(id);
        writer.Write(index);
        writer.Write(crc ?? Crc32CChecksum.Compute(payload));
        writer.Write(payload);
        writer.Flush();
        return Session.SendAsync(TransferFrameKinds.Chunk, buffer.WrittenMemory);
    }

    /// <summary>Sends every chunk of <paramref name="content"/>, then the end marker.</summary>
    public async Task SendAllAsync(string id, byte[] content, int chunkSize = 1024, byte[]? endSha256 = null)
    {
        for (var index = 0; index * chunkSize < content.Length; index++)
        {
            await SendChunkAsync(id, index, content.AsSpan(index * chunkSize, Math.Min(chunkSize, content.Length - (index * chunkSize))));
        }

        await SendAsync(TransferFrameKinds.End, new EndFrame { TransferId = id, BytesSent = content.Length, Sha256 = endSha256 });
    }

    /// <summary>The next frame B sent of <paramref name="kind"/>, skipping acks.</summary>
    public async Task<T> ExpectAsync<T>(FrameKind kind)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (true)
        {
            var (got, body) = await _frames.Reader.ReadAsync(timeout.Token);
            if (got == TransferFrameKinds.Ack)
            {
                continue;
            }

            Assert.Equal(kind, got);
            return MessagePackSerializer.Deserialize<T>(body);
        }
    }

    /// <summary>True when B sent nothing (but acks) within <paramref name="milliseconds"/>.</summary>
    public async Task<bool> IsQuietAsync(int milliseconds = 300)
    {
        await Task.Delay(milliseconds);
        while (_frames.Reader.TryRead(out var frame))
        {
            if (frame.Kind != TransferFrameKinds.Ack)
            {
                return false;
            }
        }

        return true;
    }
}
