using System.Security.Cryptography;
using System.Text;
using Messenger.Contracts.Storage;
using Messenger.Plugins.Storage.SqlCipher;

namespace Messenger.Plugins.Storage.Tests;

/// <summary>What only the encrypted store promises: keys, encryption at rest, tamper detection, rekey, export, schema.</summary>
public sealed class SqlCipherStoreTests : IDisposable
{
    /// <summary>A cheap Argon2id cost so passphrase tests stay fast; the cost is stored in the header either way.</summary>
    private static readonly Argon2Parameters CheapArgon2 = new(1024, 1, 1);

    private readonly TempDirectory folder = new();

    public void Dispose() => folder.Dispose();

    private SqlCipherStore OpenRaw() => SqlCipherStore.Open(folder.Path, StoreKey.FromRawKey(Stores.RawKey));

    private static async Task StoreFileAsync(SqlCipherStore store, string fileId, byte[] content)
    {
        await using var writer = await store.Files.OpenWriteAsync(fileId, new StoredFileMetadata(fileId + ".bin", null));
        await writer.WriteAsync(content);
        await writer.CompleteAsync();
    }

    private static async Task<byte[]> ReadAllAsync(SqlCipherStore store, string fileId)
    {
        await using var stream = await store.Files.OpenReadAsync(fileId);
        var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    [Fact]
    public async Task Passphrase_ReopenWithSame_OpensAndKeepsData()
    {
        await using (var store = SqlCipherStore.Open(folder.Path, StoreKey.FromPassphrase("correct horse", CheapArgon2)))
        {
            await store.Messages.AddMessageAsync(new StoredMessage { MessageId = "m", ConversationId = "c", Direction = Direction.Outgoing, SentAt = DateTimeOffset.UnixEpoch, Text = "hi" });
        }

        await using var reopened = SqlCipherStore.Open(folder.Path, StoreKey.FromPassphrase("correct horse"));

        Assert.Equal("hi", (await reopened.Messages.GetMessageAsync("m"))!.Text);
        Assert.True(File.Exists(folder.Combine("messenger.kdf")));
        Assert.Equal(SqlCipherStore.CurrentSchemaVersion, reopened.SchemaVersion);
    }

    [Fact]
    public void Passphrase_Wrong_ThrowsStorageKeyExceptionWithPlainMessage()
    {
        SqlCipherStore.Open(folder.Path, StoreKey.FromPassphrase("correct horse", CheapArgon2)).Dispose();

        var error = Assert.Throws<StorageKeyException>(() => SqlCipherStore.Open(folder.Path, StoreKey.FromPassphrase("wrong horse")));

        Assert.Equal("Wrong passphrase or not a Messenger store.", error.Message);
    }

    [Fact]
    public async Task RawKey_Wrong_ThrowsStorageKeyExceptionAndLeavesStoreIntact()
    {
        await using (var store = OpenRaw())
        {
            await StoreFileAsync(store, "f", RandomNumberGenerator.GetBytes(1000));
        }

        Assert.Throws<StorageKeyException>(() => SqlCipherStore.Open(folder.Path, StoreKey.FromRawKey(new byte[32])));

        await using var reopened = OpenRaw();
        Assert.Equal(1000, (await reopened.Files.GetInfoAsync("f"))!.Length);
    }

    [Fact]
    public void RawKeyStore_OpenedWithPassphrase_ThrowsStorageKeyException()
    {
        OpenRaw().Dispose();

        var error = Assert.Throws<StorageKeyException>(() => SqlCipherStore.Open(folder.Path, StoreKey.FromPassphrase("anything", CheapArgon2)));
        Assert.StartsWith("Wrong passphrase or not a Messenger store.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NotADatabase_ThrowsStorageKeyException()
    {
        File.WriteAllBytes(folder.Combine(SqlCipherStore.DatabaseFileName), RandomNumberGenerator.GetBytes(8192));

        var error = Assert.Throws<StorageKeyException>(OpenRaw);
        Assert.Equal("Wrong passphrase or not a Messenger store.", error.Message);
    }

    [Fact]
    public void OtherApplicationsDatabase_WithTheRightKey_ThrowsStorageKeyException()
    {
        OpenRaw().Dispose();
        using (var connection = SqlCipherFiles.OpenDatabase(folder.Path, Stores.RawKey))
        {
            // What another SQLCipher application's database looks like to us: tables, no schema version.
            connection.Execute("PRAGMA user_version = 0");
        }

        var error = Assert.Throws<StorageKeyException>(OpenRaw);
        Assert.StartsWith("Wrong passphrase or not a Messenger store.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SecondOpen_WhileOpen_ThrowsStorageException()
    {
        using var store = OpenRaw();

        var error = Assert.Throws<StorageException>(OpenRaw);
        Assert.Contains("in use", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SchemaFromNewerVersion_ThrowsStorageExceptionNamingTheVersion()
    {
        OpenRaw().Dispose();
        using (var connection = SqlCipherFiles.OpenDatabase(folder.Path, Stores.RawKey))
        {
            connection.Execute("PRAGMA user_version = 99");
        }

        var error = Assert.Throws<StorageException>(OpenRaw);
        Assert.Contains("99", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Open_SchemaVersion1Store_MigratesToCurrentKeepingMessages()
    {
        await using (var store = OpenRaw())
        {
            await store.Messages.AddMessageAsync(new StoredMessage { MessageId = "m", ConversationId = "c", Direction = Direction.Incoming, SentAt = DateTimeOffset.UnixEpoch, Text = "from v1" });
        }

        // Make it the store version 1 wrote: messages and transfers (without peers), no files table.
        using (var connection = SqlCipherFiles.OpenDatabase(folder.Path, Stores.RawKey))
        {
            EarlierSchemas.MakeVersion2WithOneTransfer(connection, "t-old");
            connection.Execute("DROP TABLE files; PRAGMA user_version = 1");
        }

        var log = new RecordingLogger();
        await using var migrated = SqlCipherStore.Open(folder.Path, StoreKey.FromRawKey(Stores.RawKey), log);

        Assert.Equal(SqlCipherStore.CurrentSchemaVersion, migrated.SchemaVersion);
        Assert.Contains(log.Lines, l => l.Message.Contains($"from version 1 to {SqlCipherStore.CurrentSchemaVersion}", StringComparison.Ordinal));
        Assert.Equal("from v1", (await migrated.Messages.GetMessageAsync("m"))!.Text);
        Assert.Null((await migrated.Messages.GetTransferAsync("t-old"))!.PeerId);
        await StoreFileAsync(migrated, "f", new byte[200 * 1024]);
        Assert.Equal(200 * 1024, (await migrated.Files.GetInfoAsync("f"))!.Length);
    }

    [Fact]
    public async Task Open_SchemaVersion2Store_AddsThePeerColumn_OldTransfersHaveNoPeer()
    {
        OpenRaw().Dispose();
        using (var connection = SqlCipherFiles.OpenDatabase(folder.Path, Stores.RawKey))
        {
            EarlierSchemas.MakeVersion2WithOneTransfer(connection, "t-old");
        }

        var log = new RecordingLogger();
        await using var migrated = SqlCipherStore.Open(folder.Path, StoreKey.FromRawKey(Stores.RawKey), log);

        Assert.Equal(4, migrated.SchemaVersion);
        Assert.Contains(log.Lines, l => l.Message.Contains("from version 2 to 4", StringComparison.Ordinal));
        var old = await migrated.Messages.GetTransferAsync("t-old");
        Assert.Equal(("carol", (string?)null, TransferState.Paused, 214748364L, "/home/alice/big1g.bin"), (old!.ConversationId, old.PeerId, old.State, old.VerifiedBytes, old.SourcePath));
        await migrated.Messages.SaveTransferAsync(old with { PeerId = "bob" });
        Assert.Equal("bob", (await migrated.Messages.GetTransferAsync("t-old"))!.PeerId);
    }

    [Fact]
    public async Task InlineLimit_99KiBInDatabase_100KiBAnd101KiBInChunkFiles()
    {
        await using var store = OpenRaw();

        await StoreFileAsync(store, "small", new byte[99 * 1024]);
        await StoreFileAsync(store, "limit", new byte[100 * 1024]);
        await StoreFileAsync(store, "large", new byte[101 * 1024]);

        Assert.False(File.Exists(SqlCipherFiles.ChunkFile(folder.Path, "small")));
        // 102,400 bytes: one full 64 KiB chunk on disk, the partial rest kept (encrypted) in the database.
        Assert.Equal(SqlCipherFiles.SlotSize, new FileInfo(SqlCipherFiles.ChunkFile(folder.Path, "limit")).Length);
        Assert.True(File.Exists(SqlCipherFiles.ChunkFile(folder.Path, "large")));
    }

    [Fact]
    public async Task AtRest_NoSixteenByteWindowOfPlaintextInAnyFile()
    {
        var text = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 200).Select(i => $"secret line {i} about the plan; ")));
        var large = RandomNumberGenerator.GetBytes(300 * 1024);
        var small = RandomNumberGenerator.GetBytes(60 * 1024);
        var identity = RandomNumberGenerator.GetBytes(200);
        var scanner = new PlaintextScanner([text, large, small, identity, Encoding.UTF8.GetBytes("holiday-photos-2026-final.jpg")]);
        await using (var store = OpenRaw())
        {
            await store.Profile.SetRecordAsync("identity", identity);
            await store.Messages.AddMessageAsync(new StoredMessage { MessageId = "m", ConversationId = "alice", Direction = Direction.Incoming, SentAt = DateTimeOffset.UnixEpoch, Text = Encoding.UTF8.GetString(text) });
            await using (var writer = await store.Files.OpenWriteAsync("large", new StoredFileMetadata("holiday-photos-2026-final.jpg", "image/jpeg")))
            {
                await writer.WriteAsync(large);
                await writer.CompleteAsync();
            }

            await StoreFileAsync(store, "small", small);
            await using (var partial = await store.Files.OpenWriteAsync("partial", new StoredFileMetadata("p.bin", null)))
            {
                // A flushed, incomplete file keeps its partial chunk in the database: that must be encrypted too.
                await partial.WriteAsync(large.AsMemory(0, 200 * 1024));
            }

            // Scanned while open, so the WAL and shared-memory files are there to be checked.
            Assert.Contains(Directory.GetFiles(folder.Path), f => f.EndsWith("-wal", StringComparison.Ordinal));
            Assert.Equal([], scanner.FindIn(folder.Path));
        }

        Assert.Equal([], scanner.FindIn(folder.Path));
    }

    [Fact]
    public async Task AtRestScanner_OnTheFolderStore_FindsThePlaintext()
    {
        // The control for the test above: the same scan must find plaintext where it is stored in the clear.
        var content = RandomNumberGenerator.GetBytes(150 * 1024);
        await using (var session = Stores.OpenFolder(folder.Path))
        {
            await using var writer = await session.Files.OpenWriteAsync("f", new StoredFileMetadata("f.bin", null));
            await writer.WriteAsync(content);
            await writer.CompleteAsync();
        }

        Assert.NotEmpty(new PlaintextScanner([content]).FindIn(folder.Path));
    }

    public enum Tampering
    {
        FlippedByte,
        FlippedTag,
        TruncatedChunkFile,
        SwappedChunks,
        ChunkFromAnotherFile,
    }

    [Theory]
    [InlineData(Tampering.FlippedByte)]
    [InlineData(Tampering.FlippedTag)]
    [InlineData(Tampering.TruncatedChunkFile)]
    [InlineData(Tampering.SwappedChunks)]
    [InlineData(Tampering.ChunkFromAnotherFile)]
    public async Task Tampered_ChunkFile_ReadThrowsStorageIntegrityException(Tampering tampering)
    {
        var content = RandomNumberGenerator.GetBytes((4 * SqlCipherFiles.ChunkSize) + 100);
        await using (var store = OpenRaw())
        {
            await StoreFileAsync(store, "victim", content);
            await StoreFileAsync(store, "other", RandomNumberGenerator.GetBytes(content.Length));
        }

        var path = SqlCipherFiles.ChunkFile(folder.Path, "victim");
        var bytes = File.ReadAllBytes(path);
        var slot = SqlCipherFiles.SlotSize;
        switch (tampering)
        {
            case Tampering.FlippedByte:
                bytes[(2 * slot) + 500] ^= 0x01;
                break;
            case Tampering.FlippedTag:
                bytes[(3 * slot) - 1] ^= 0x80;
                break;
            case Tampering.TruncatedChunkFile:
                Array.Resize(ref bytes, (3 * slot) + 100);
                break;
            case Tampering.SwappedChunks:
                var first = bytes.AsSpan(slot, slot).ToArray();
                bytes.AsSpan(2 * slot, slot).CopyTo(bytes.AsSpan(slot, slot));
                first.CopyTo(bytes.AsSpan(2 * slot, slot));
                break;
            case Tampering.ChunkFromAnotherFile:
                File.ReadAllBytes(SqlCipherFiles.ChunkFile(folder.Path, "other")).AsSpan(slot, slot).CopyTo(bytes.AsSpan(slot, slot));
                break;
        }

        File.WriteAllBytes(path, bytes);
        await using var reopened = OpenRaw();

        await Assert.ThrowsAsync<StorageIntegrityException>(() => ReadAllAsync(reopened, "victim"));
        await using var stream = await reopened.Files.OpenReadAsync("victim");
        // The first chunk is untouched in every case, so reads stop exactly at the damage.
        var head = new byte[SqlCipherFiles.ChunkSize];
        await stream.ReadExactlyAsync(head);
        Assert.Equal(content.AsSpan(0, head.Length).ToArray(), head);
    }

    [Fact]
    public async Task DeletedChunkFile_OpenReadThrowsStorageIntegrityException()
    {
        await using (var store = OpenRaw())
        {
            await StoreFileAsync(store, "victim", RandomNumberGenerator.GetBytes(300 * 1024));
        }

        File.Delete(SqlCipherFiles.ChunkFile(folder.Path, "victim"));
        await using var reopened = OpenRaw();

        var error = await Assert.ThrowsAsync<StorageIntegrityException>(async () => await reopened.Files.OpenReadAsync("victim"));
        Assert.Contains("missing", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rekey_PassphraseToNewPassphrase_OldFailsNewOpensEverything()
    {
        var large = RandomNumberGenerator.GetBytes(500 * 1024);
        var small = RandomNumberGenerator.GetBytes(10 * 1024);
        await using (var store = SqlCipherStore.Open(folder.Path, StoreKey.FromPassphrase("old secret", CheapArgon2)))
        {
            await StoreFileAsync(store, "large", large);
            await StoreFileAsync(store, "small", small);
            store.Rekey(StoreKey.FromPassphrase("new secret"));
            // The open store keeps working under the new key.
            Assert.Equal(large, await ReadAllAsync(store, "large"));
        }

        Assert.Throws<StorageKeyException>(() => SqlCipherStore.Open(folder.Path, StoreKey.FromPassphrase("old secret")));
        await using var reopened = SqlCipherStore.Open(folder.Path, StoreKey.FromPassphrase("new secret"));
        Assert.Equal(large, await ReadAllAsync(reopened, "large"));
        Assert.Equal(small, await ReadAllAsync(reopened, "small"));
    }

    [Fact]
    public async Task Rekey_RawToRaw_WritesContinueAndOldKeyFails()
    {
        var newKey = RandomNumberGenerator.GetBytes(32);
        var first = RandomNumberGenerator.GetBytes(300 * 1024);
        var second = RandomNumberGenerator.GetBytes(300 * 1024);
        await using (var store = OpenRaw())
        {
            await using (var writer = await store.Files.OpenWriteAsync("growing", new StoredFileMetadata("g.bin", null)))
            {
                await writer.WriteAsync(first);
            }

            store.Rekey(StoreKey.FromRawKey(newKey));
        }

        Assert.Throws<StorageKeyException>(OpenRaw);
        await using var reopened = SqlCipherStore.Open(folder.Path, StoreKey.FromRawKey(newKey));
        await using (var writer = await reopened.Files.OpenWriteAsync("growing", new StoredFileMetadata("g.bin", null)))
        {
            await writer.WriteAsync(second);
            await writer.CompleteAsync();
        }

        var stored = await ReadAllAsync(reopened, "growing");
        Assert.Equal([.. first, .. second], stored);
    }

    [Fact]
    public async Task InterruptedRekey_BeforeDatabaseRekey_RollsBackOnOpen()
    {
        var content = RandomNumberGenerator.GetBytes(200 * 1024);
        await using (var store = OpenRaw())
        {
            await StoreFileAsync(store, "f", content);
        }

        // The state a crash leaves after the new wrappings were written but before PRAGMA rekey ran.
        using (var connection = SqlCipherFiles.OpenDatabase(folder.Path, Stores.RawKey))
        {
            connection.Execute("UPDATE files SET rewrapped_key = randomblob(60) WHERE file_id = 'f'");
        }

        var log = new RecordingLogger();
        await using (var reopened = SqlCipherStore.Open(folder.Path, StoreKey.FromRawKey(Stores.RawKey), log))
        {
            Assert.Equal(content, await ReadAllAsync(reopened, "f"));
        }

        Assert.Contains(log.Lines, l => l.Level == Microsoft.Extensions.Logging.LogLevel.Warning && l.Message.StartsWith("Rolled back a rekey", StringComparison.Ordinal));
        using var after = SqlCipherFiles.OpenDatabase(folder.Path, Stores.RawKey);
        using var count = after.CreateCommand();
        count.CommandText = "SELECT count(*) FROM files WHERE rewrapped_key IS NOT NULL";
        Assert.Equal(0L, (long)count.ExecuteScalar()!);
    }

    [Fact]
    public async Task InterruptedRekey_AfterDatabaseRekey_FinishesOnOpenWithTheNewKey()
    {
        var content = RandomNumberGenerator.GetBytes(200 * 1024);
        var newKey = RandomNumberGenerator.GetBytes(32);
        await using (var store = OpenRaw())
        {
            await StoreFileAsync(store, "f", content);
        }

        // The state a crash leaves after PRAGMA rekey but before the new wrappings were swapped in.
        using (var connection = SqlCipherFiles.OpenDatabase(folder.Path, Stores.RawKey))
        {
            using var read = connection.CreateCommand();
            read.CommandText = "SELECT wrapped_key FROM files WHERE file_id = 'f'";
            var fileKey = ChunkCipher.TryUnwrapKey(ChunkCipher.DeriveKeyEncryptionKey(Stores.RawKey), "f", (byte[])read.ExecuteScalar()!)!;
            using var write = connection.CreateCommand();
            write.CommandText = "UPDATE files SET rewrapped_key = $key WHERE file_id = 'f'";
            write.Parameters.AddWithValue("$key", ChunkCipher.WrapKey(ChunkCipher.DeriveKeyEncryptionKey(newKey), "f", fileKey));
            write.ExecuteNonQuery();
            connection.Execute($"PRAGMA rekey = \"x'{Convert.ToHexString(newKey)}'\"");
        }

        var log = new RecordingLogger();
        await using (var reopened = SqlCipherStore.Open(folder.Path, StoreKey.FromRawKey(newKey), log))
        {
            Assert.Equal(content, await ReadAllAsync(reopened, "f"));
        }

        Assert.Contains(log.Lines, l => l.Message.StartsWith("Finished a rekey", StringComparison.Ordinal));

        // Finished for good: a second open needs no recovery and still reads the file.
        await using var again = SqlCipherStore.Open(folder.Path, StoreKey.FromRawKey(newKey));
        Assert.Equal(content, await ReadAllAsync(again, "f"));
    }

    [Fact]
    public async Task Export_WritesPlaintextAndReturnsItsSha256()
    {
        var content = RandomNumberGenerator.GetBytes(700 * 1024);
        await using var store = OpenRaw();
        await StoreFileAsync(store, "f", content);
        var destination = folder.Combine("exported.bin");

        var hash = await store.Files.ExportAsync("f", destination);

        Assert.Equal(SHA256.HashData(content), hash);
        Assert.Equal(content, await File.ReadAllBytesAsync(destination));
    }

    [Fact]
    public async Task Export_TamperedFile_ThrowsAndLeavesNoDestination()
    {
        await using (var store = OpenRaw())
        {
            await StoreFileAsync(store, "f", RandomNumberGenerator.GetBytes(700 * 1024));
        }

        var path = SqlCipherFiles.ChunkFile(folder.Path, "f");
        var bytes = File.ReadAllBytes(path);
        bytes[^100] ^= 0xFF;
        File.WriteAllBytes(path, bytes);
        await using var reopened = OpenRaw();
        var destination = folder.Combine("exported.bin");

        await Assert.ThrowsAsync<StorageIntegrityException>(() => reopened.Files.ExportAsync("f", destination));
        Assert.False(File.Exists(destination));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task DatabaseMissingOrEmptied_WithChunkFiles_IsRefused_EvenWithAMistypedPassphrase_NothingChanged(bool delete)
    {
        await using (var store = SqlCipherStore.Open(folder.Path, StoreKey.FromPassphrase("correct horse", CheapArgon2)))
        {
            await StoreFileAsync(store, "big", RandomNumberGenerator.GetBytes(300 * 1024));
        }

        var database = Path.Combine(folder.Path, SqlCipherStore.DatabaseFileName);
        if (delete)
        {
            File.Delete(database);
        }
        else
        {
            File.WriteAllBytes(database, []);
        }

        var before = Snapshot();
        var error = Assert.Throws<StorageException>(() => SqlCipherStore.Open(folder.Path, StoreKey.FromPassphrase("correct hrose", CheapArgon2)));

        Assert.Contains("encrypted chunk file", error.Message, StringComparison.Ordinal);
        Assert.Contains("Restore messenger.db from a backup", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, Snapshot());
        Assert.True(File.Exists(SqlCipherFiles.ChunkFile(folder.Path, "big")));
    }

    [Theory]
    [InlineData("this store's passphrase")]
    [InlineData("the other store's passphrase")]
    [InlineData("a mistyped passphrase")]
    public async Task DatabaseFromAnotherStore_CopiedOverThisOne_IsRefusedWhateverThePassphrase_NothingChanged(string which)
    {
        await using (var store = SqlCipherStore.Open(folder.Path, StoreKey.FromPassphrase("correct horse", CheapArgon2)))
        {
            await StoreFileAsync(store, "mine", RandomNumberGenerator.GetBytes(300 * 1024));
        }

        using var other = new TempDirectory();
        await using (var store = SqlCipherStore.Open(other.Path, StoreKey.FromPassphrase("battery staple", CheapArgon2)))
        {
            await StoreFileAsync(store, "theirs", RandomNumberGenerator.GetBytes(300 * 1024));
        }

        // A restore gone wrong: the other store's database over this one's, this one's key header and chunk files kept.
        File.Copy(Path.Combine(other.Path, SqlCipherStore.DatabaseFileName), Path.Combine(folder.Path, SqlCipherStore.DatabaseFileName), overwrite: true);
        var passphrase = which switch
        {
            "this store's passphrase" => "correct horse",
            "the other store's passphrase" => "battery staple",
            _ => "correct hrose",
        };
        var before = Snapshot();

        Assert.ThrowsAny<StorageException>(() => SqlCipherStore.Open(folder.Path, StoreKey.FromPassphrase(passphrase, CheapArgon2)).Dispose());

        Assert.Equal(before, Snapshot()); // nothing deleted or set aside as "unreferenced", nothing rewritten
        Assert.True(File.Exists(SqlCipherFiles.ChunkFile(folder.Path, "mine")));
    }

    [Fact]
    public void DatabaseMissing_PassphraseHeaderLeft_IsRefused()
    {
        SqlCipherStore.Open(folder.Path, StoreKey.FromPassphrase("correct horse", CheapArgon2)).Dispose();
        File.Delete(Path.Combine(folder.Path, SqlCipherStore.DatabaseFileName));

        var error = Assert.Throws<StorageException>(() => SqlCipherStore.Open(folder.Path, StoreKey.FromPassphrase("typo", CheapArgon2)));

        Assert.Contains("messenger.kdf", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(folder.Path, SqlCipherStore.DatabaseFileName)));
    }

    [Fact]
    public async Task EmptyDatabaseFile_AndNothingElse_IsANewStore()
    {
        File.WriteAllBytes(Path.Combine(folder.Path, SqlCipherStore.DatabaseFileName), []);
        await using var store = OpenRaw();
        Assert.Equal(SqlCipherStore.CurrentSchemaVersion, store.SchemaVersion);
    }

    [Fact]
    public async Task ChunkFileNoRowRefersTo_IsSetAside_NotDeleted()
    {
        var content = RandomNumberGenerator.GetBytes(300 * 1024);
        await using (var store = OpenRaw())
        {
            await StoreFileAsync(store, "kept", content);
        }

        // As after restoring an older copy of the database: a chunk file whose row it does not have.
        var stray = SqlCipherFiles.ChunkFile(folder.Path, "newer");
        File.Copy(SqlCipherFiles.ChunkFile(folder.Path, "kept"), stray);
        var log = new RecordingLogger();
        await using (var store = SqlCipherStore.Open(folder.Path, StoreKey.FromRawKey(Stores.RawKey), log))
        {
            Assert.False(File.Exists(stray));
            Assert.Equal(File.ReadAllBytes(SqlCipherFiles.ChunkFile(folder.Path, "kept")), File.ReadAllBytes(Path.Combine(folder.Path, SqlCipherStore.FilesFolderName, "orphaned", "newer.chunks")));
            Assert.Contains(log.Lines, l => l.Message.Contains("Moved 1 chunk files", StringComparison.Ordinal));
            Assert.Equal(content.Length, (await store.Files.GetInfoAsync("kept"))!.Length);
        }
    }

    private SortedDictionary<string, string> Snapshot() =>
        new(Directory.GetFiles(folder.Path, "*", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith(".lock", StringComparison.Ordinal))
            .ToDictionary(f => Path.GetRelativePath(folder.Path, f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f)))), StringComparer.Ordinal);
}
