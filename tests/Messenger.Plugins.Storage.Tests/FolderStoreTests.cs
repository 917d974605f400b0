using System.Security.Cryptography;
using Messenger.Contracts.Storage;
using Messenger.Plugins.Storage.Folder;

namespace Messenger.Plugins.Storage.Tests;

/// <summary>What only the folder store promises: real, safe names in the downloads folder, and crash recovery of its part files.</summary>
public sealed class FolderStoreTests : IDisposable
{
    private readonly TempDirectory folder = new();

    public void Dispose() => folder.Dispose();

    private string Downloads => folder.Combine("downloads");

    private FolderStore Open() => FolderStore.Open(folder.Combine("data"), Downloads);

    private static async Task<StoredFileInfo> StoreAsync(FolderStore store, string fileId, string name, byte[] content)
    {
        await using var writer = await store.Files.OpenWriteAsync(fileId, new StoredFileMetadata(name, null));
        await writer.WriteAsync(content);
        return await writer.CompleteAsync();
    }

    [Theory]
    [InlineData("report.pdf", "report.pdf")]
    [InlineData("../../etc/passwd", "passwd")]
    [InlineData("..\\..\\Windows\\evil.exe", "evil.exe")]
    [InlineData(".bashrc", "bashrc")]
    [InlineData("a<b>c:d|e?.txt", "a_b_c_d_e_.txt")]
    [InlineData("tab\there.txt", "tab_here.txt")]
    [InlineData("CON.txt", "_CON.txt")]
    [InlineData("...", "file")]
    [InlineData("", "file")]
    public async Task Complete_MovesFileToDownloadsUnderItsSanitisedName(string offered, string expected)
    {
        var content = RandomNumberGenerator.GetBytes(5000);
        await using var store = Open();

        await StoreAsync(store, "f", offered, content);

        Assert.Equal(content, await File.ReadAllBytesAsync(Path.Combine(Downloads, expected)));
        Assert.Equal(Path.Combine(Downloads, expected), await store.Files.GetCompletedPathAsync("f"));
        Assert.Empty(Directory.GetFiles(Path.Combine(Downloads, FolderStore.IncomingFolderName)));
    }

    [Fact]
    public async Task Complete_NameTaken_NumbersTheNewFileAndKeepsTheOld()
    {
        await File.WriteAllTextAsync(Path.Combine(Directory.CreateDirectory(Downloads).FullName, "photo.jpg"), "the user's own file");
        await using var store = Open();

        await StoreAsync(store, "a", "photo.jpg", [1]);
        await StoreAsync(store, "b", "photo.jpg", [2]);

        Assert.Equal("the user's own file", await File.ReadAllTextAsync(Path.Combine(Downloads, "photo.jpg")));
        Assert.Equal([1], await File.ReadAllBytesAsync(Path.Combine(Downloads, "photo (1).jpg")));
        Assert.Equal([2], await File.ReadAllBytesAsync(Path.Combine(Downloads, "photo (2).jpg")));
    }

    [Fact]
    public async Task LongName_IsShortenedKeepingTheExtension()
    {
        await using var store = Open();

        await StoreAsync(store, "f", new string('é', 300) + ".jpeg", [1]);

        var name = Path.GetFileName(await store.Files.GetCompletedPathAsync("f"))!;

        Assert.EndsWith(".jpeg", name, StringComparison.Ordinal);
        Assert.InRange(System.Text.Encoding.UTF8.GetByteCount(name), 100, 200);
    }

    [Fact]
    public async Task Reopen_UnflushedBytesPastTheRecordedLengthAreDropped()
    {
        var content = RandomNumberGenerator.GetBytes(300_000);
        await using (var store = Open())
        {
            await using var writer = await store.Files.OpenWriteAsync("p", new StoredFileMetadata("p.bin", null));
            await writer.WriteAsync(content.AsMemory(0, 200_000));
            await writer.FlushAsync();
        }

        // A crash after more bytes reached the part file but before the index recorded them.
        await using (var part = new FileStream(Path.Combine(Downloads, FolderStore.IncomingFolderName, "p.part"), FileMode.Append))
        {
            await part.WriteAsync(RandomNumberGenerator.GetBytes(50_000));
        }

        await using var reopened = Open();
        await using (var writer = await reopened.Files.OpenWriteAsync("p", new StoredFileMetadata("p.bin", null)))
        {
            Assert.Equal(200_000, writer.Length);
            await writer.WriteAsync(content.AsMemory(200_000));
            await writer.CompleteAsync();
        }

        Assert.Equal(content, await File.ReadAllBytesAsync(Path.Combine(Downloads, "p.bin")));
    }

    [Fact]
    public async Task FileRemovedFromDownloads_ReadThrowsStoredFileNotFound()
    {
        await using var store = Open();
        await StoreAsync(store, "f", "gone.txt", [1, 2, 3]);
        File.Delete(Path.Combine(Downloads, "gone.txt"));

        var error = await Assert.ThrowsAsync<StoredFileNotFoundException>(async () => await store.Files.OpenReadAsync("f"));
        Assert.Contains("gone.txt", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FileShortenedOutsideMessenger_ReadThrowsStorageIntegrityException()
    {
        await using var store = Open();
        await StoreAsync(store, "f", "cut.bin", RandomNumberGenerator.GetBytes(1000));
        await using (var file = new FileStream(Path.Combine(Downloads, "cut.bin"), FileMode.Open))
        {
            file.SetLength(500);
        }

        await Assert.ThrowsAsync<StorageIntegrityException>(async () => await store.Files.OpenReadAsync("f"));
    }

    [Fact]
    public async Task Index_IsPlainSqliteThatOpensWithoutAKey()
    {
        await using (var store = Open())
        {
            await store.Messages.AddMessageAsync(new StoredMessage { MessageId = "m", ConversationId = "c", Direction = Direction.Incoming, SentAt = DateTimeOffset.UnixEpoch, Text = "plain" });
        }

        var header = new byte[16];
        await using (var index = File.OpenRead(folder.Combine("data", FolderStore.IndexFileName)))
        {
            await index.ReadExactlyAsync(header);
        }

        Assert.Equal("SQLite format 3\0"u8.ToArray(), header);
    }

    [Fact]
    public async Task Open_SchemaVersion2Index_AddsThePeerColumn_OldTransfersHaveNoPeer()
    {
        await Open().DisposeAsync();
        using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={folder.Combine("data", FolderStore.IndexFileName)};Pooling=False"))
        {
            connection.Open();
            EarlierSchemas.MakeVersion2WithOneTransfer(connection, "t-old");
        }

        await using var migrated = Open();

        Assert.Equal(4, migrated.SchemaVersion);
        var old = await migrated.Messages.GetTransferAsync("t-old");
        Assert.Equal(("carol", (string?)null, TransferState.Paused), (old!.ConversationId, old.PeerId, old.State));
    }
}
