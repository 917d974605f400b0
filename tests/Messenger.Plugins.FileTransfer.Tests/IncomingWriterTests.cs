using Messenger.Contracts.Chat;
using Messenger.Contracts.FileTransfer;
using Messenger.Contracts.Storage;
using Messenger.Plugins.Storage.Folder;
using Messenger.Plugins.Storage.SqlCipher;
using Messenger.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Messenger.Plugins.FileTransfer.Tests;

/// <summary>
/// The receiver stores chunks on a writer of each transfer's own, hashing as it stores: nothing is read back, a slow
/// store holds up only its own transfer, and the sender keeps to the receiver's window.
/// </summary>
public sealed class IncomingWriterTests
{
    private const int Chunk = 1024;
    private const long Window = 64 * 1024;

    private static SideOptions Receiver(StallingFileStore.Slot slot, bool sqlCipher = false) => new()
    {
        SqlCipher = sqlCipher,
        Transfer = TransferPair.Small(o =>
        {
            o.AutoAcceptMaxBytes = long.MaxValue;
            o.ReceiveWindowBytes = Window;
            o.AckIntervalBytes = 16 * 1024;
        }),
        Services = s => s.Replace(ServiceDescriptor.Singleton<IFileStore>(sp => slot.Wrap(sqlCipher ? sp.GetRequiredService<SqlCipherStore>().Files : sp.GetRequiredService<FolderStore>().Files))),
    };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Receive_FreshTransfer_VerifiedWithoutReadingTheStoredFileBack(bool sqlCipher)
    {
        var slot = new StallingFileStore.Slot();
        await using var pair = await TransferPair.StartAsync(b: Receiver(slot, sqlCipher));
        var path = pair.Folder.WritePatternFile("f.bin", 300_000 + 17);

        var id = (await pair.TransfersA.SendFileAsync(path)).TransferId;

        Assert.IsType<TransferCompleted>(await pair.EventsB.WaitForEndAsync(id));
        Assert.IsType<TransferCompleted>(await pair.EventsA.WaitForEndAsync(id));
        Assert.Equal(0, slot.Store!.Reads);
        var stored = pair.TransfersB.GetTransfers().Single();
        Assert.Equal(await File.ReadAllBytesAsync(path), await TransferTests.ReadStoredAsync(pair.FilesB, stored.FileId!));
    }

    [Fact]
    public async Task Receive_StoreHeld_SenderStopsAtTheWindowWhileChatAndCancelStillGetThrough()
    {
        var slot = new StallingFileStore.Slot();
        // A progress event for (nearly) every chunk sent, so the test sees the sender reach the window.
        var sender = new SideOptions { Transfer = TransferPair.Small(o => o.ProgressInterval = TimeSpan.FromTicks(1)) };
        await using var pair = await TransferPair.StartAsync(a: sender, b: Receiver(slot));
        slot.Store!.Hold();
        const long size = 1024 * 1024;
        var id = (await pair.TransfersA.SendFileAsync(pair.Folder.WritePatternFile("f.bin", size))).TransferId;
        await slot.Store.WriteHeld.WaitAsync(TimeSpan.FromSeconds(10));

        // The sender fills the window and no more: the chunks wait in B's writer of this transfer, not in the channel.
        await pair.EventsA.WaitForAsync<TransferProgressed>(e => e.Transfer.TransferId == id && e.Progress.BytesTransferred >= Window - (2 * Chunk));
        var delivered = new TaskCompletionSource<ChatMessageDelivered>(TaskCreationOptions.RunContinuationsAsynchronously);
        pair.ChatA.ChatChanged += (_, e) => { if (e is ChatMessageDelivered d) { delivered.TrySetResult(d); } };
        await pair.ChatA.SendAsync("still here?");
        await delivered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.InRange(pair.ServiceA.ChunksSent(id) * Chunk, Window - (2 * Chunk), Window);

        // A control frame of the same plugin is not stuck behind the held write either.
        await pair.TransfersA.CancelAsync(id);
        Assert.IsType<TransferCancelled>(await pair.EventsB.WaitForEndAsync(id, 10));
        Assert.InRange(pair.ServiceA.ChunksSent(id) * Chunk, Window - (2 * Chunk), Window);
        slot.Store.Release();
        Assert.Empty(await TransferTests.ListStoredAsync(pair.FilesB));
    }

    [Fact]
    public async Task Receive_OneTransfersStoreHeld_AnotherTransferStillCompletes()
    {
        var slot = new StallingFileStore.Slot();
        await using var pair = await TransferPair.StartAsync(b: Receiver(slot));
        slot.Store!.Hold();
        var held = (await pair.TransfersA.SendFileAsync(pair.Folder.WritePatternFile("a.bin", 512 * 1024))).TransferId;
        Assert.Equal("ft-" + held, await slot.Store.WriteHeld.WaitAsync(TimeSpan.FromSeconds(10)));
        slot.Store.NarrowToHeldFile();

        var free = (await pair.TransfersA.SendFileAsync(pair.Folder.WritePatternFile("b.bin", 200_000, seed: 3))).TransferId;

        Assert.IsType<TransferCompleted>(await pair.EventsB.WaitForEndAsync(free));
        Assert.DoesNotContain(pair.EventsB.Events, e => e.Transfer.TransferId == held && e is TransferCompleted);
        slot.Store.Release();
        Assert.IsType<TransferCompleted>(await pair.EventsB.WaitForEndAsync(held));
        Assert.IsType<TransferCompleted>(await pair.EventsA.WaitForEndAsync(held));
    }

    [Fact]
    public async Task Resume_SourceChangedBeforeResume_SenderRefusesToContinueAndPartialIsDeleted()
    {
        var link = new InMemoryChannelOptions { BandwidthBytesPerSecond = 3_000_000, Latency = TimeSpan.FromMilliseconds(2) };
        var slot = new StallingFileStore.Slot();
        await using var pair = await TransferPair.StartAsync(link, b: Receiver(slot));
        const int size = 2 * 1024 * 1024;
        var path = pair.Folder.WritePatternFile("f.bin", size);
        var id = (await pair.TransfersA.SendFileAsync(path)).TransferId;
        await pair.EventsB.WaitForAsync<TransferProgressed>(e => e.Progress.BytesTransferred >= size / 3);
        await pair.DisconnectAsync();
        var paused = await pair.EventsB.WaitForAsync<TransferPaused>();
        Assert.True(paused.Transfer.BytesTransferred > 0);

        // Same size, different first bytes: only the prefix proof can tell.
        await using (var file = File.OpenWrite(path))
        {
            file.WriteByte(0x5a);
        }

        await pair.ConnectAsync();

        var atA = Assert.IsType<TransferFailed>(await pair.EventsA.WaitForEndAsync(id));
        var atB = Assert.IsType<TransferFailed>(await pair.EventsB.WaitForEndAsync(id));
        Assert.Contains("are not this file's", atA.Transfer.Reason, StringComparison.Ordinal);
        Assert.Contains("are not this file's", atB.Transfer.Reason, StringComparison.Ordinal);
        Assert.Empty(await TransferTests.ListStoredAsync(pair.FilesB));
        Assert.Equal(1, slot.Store!.Reads);
    }

    [Fact]
    public async Task SendFileAsync_LargeFile_OfferedAfterReadingOnlyItsHeader()
    {
        var source = new CountingPatternSource();
        await using var pair = await TransferPair.StartAsync(
            a: new SideOptions { Transfer = TransferPair.Small(), Services = s => s.Replace(ServiceDescriptor.Singleton<IFileSource>(source)) },
            b: new SideOptions { Transfer = TransferPair.Small() });

        var offered = await pair.TransfersA.SendFileAsync($"pattern:{1L << 40}:1", new SendFileOptions { FileName = "huge.bin" });

        // Read only to sniff its type, not hashed: the offer does not wait for a pass over a terabyte.
        Assert.InRange(source.BytesRead, 1, 64 * 1024);
        // The offer arrives whole; a receiver whose disk cannot hold a terabyte refuses it for that (and says so).
        var arrived = await pair.EventsB.WaitForAsync<TransferEvent>(e => e is TransferOffered or TransferRejected);
        Assert.Equal(1L << 40, arrived.Transfer.Size);
        if (arrived is TransferRejected)
        {
            Assert.Contains("the receiver's disk has", arrived.Transfer.Reason, StringComparison.Ordinal);
        }

        await pair.TransfersA.CancelAsync(offered.TransferId);
    }

    /// <summary>Pattern files that count the bytes read from them.</summary>
    private sealed class CountingPatternSource : IFileSource
    {
        private readonly PatternFileSource _inner = new();
        private long _read;

        public long BytesRead => Interlocked.Read(ref _read);

        public Stream OpenRead(string path) => new Counting(_inner.OpenRead(path), this);

        private sealed class Counting(Stream inner, CountingPatternSource owner) : Stream
        {
            public override bool CanRead => true;

            public override bool CanSeek => true;

            public override bool CanWrite => false;

            public override long Length => inner.Length;

            public override long Position { get => inner.Position; set => inner.Position = value; }

            public override int Read(byte[] buffer, int offset, int count)
            {
                var read = inner.Read(buffer, offset, count);
                Interlocked.Add(ref owner._read, read);
                return read;
            }

            public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
            {
                var read = await inner.ReadAsync(buffer, cancellationToken);
                Interlocked.Add(ref owner._read, read);
                return read;
            }

            public override void Flush()
            {
            }

            public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);

            public override void SetLength(long value) => throw new NotSupportedException();

            public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

            protected override void Dispose(bool disposing)
            {
                if (disposing)
                {
                    inner.Dispose();
                }

                base.Dispose(disposing);
            }
        }
    }
}
