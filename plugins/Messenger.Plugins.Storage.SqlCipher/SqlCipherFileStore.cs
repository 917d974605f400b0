using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Messenger.Contracts.Storage;
using Messenger.Plugins.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace Messenger.Plugins.Storage.SqlCipher;

/// <summary>
/// Received files, encrypted at rest. A file under <see cref="InlineLimit"/> bytes is a BLOB in the SQLCipher
/// database; a larger one is a chunk file of AES-256-GCM chunks under a per-file key, wrapped by a key derived from the
/// database key. The durable length, the partial last chunk and the wrapped key live in the database, so what a crash
/// leaves is always a prefix that decrypts and authenticates.
/// </summary>
public sealed class SqlCipherFileStore : IFileStore
{
    /// <summary>Files shorter than this (100 KiB = 102,400 bytes) are kept inside the database; this size and more go to chunk files.</summary>
    public const int InlineLimit = 100 * 1024;

    /// <summary>The plaintext bytes per chunk of a chunk file.</summary>
    public const int DefaultChunkSize = 64 * 1024;

    internal const string FileColumns =
        "file_id, file_name, media_type, created_at_ticks, created_offset_minutes, is_complete, length, inline_data, chunk_size, full_chunks, tail, wrapped_key";

    private readonly SqliteDatabase database;
    private readonly ConcurrentDictionary<string, byte> openWriters = new(StringComparer.Ordinal);
    private byte[] keyEncryptionKey;

    internal SqlCipherFileStore(SqliteDatabase database, string filesDirectory, byte[] keyEncryptionKey)
    {
        this.database = database;
        FilesDirectory = filesDirectory;
        this.keyEncryptionKey = keyEncryptionKey;
    }

    internal string FilesDirectory { get; }

    /// <inheritdoc/>
    public long? AvailableBytes => DiskSpace.AvailableBytes(FilesDirectory);

    internal SqliteDatabase Database => database;

    /// <summary>The key-encryption key; read only on the database connection, where a rekey cannot change it mid-use.</summary>
    internal byte[] KeyEncryptionKey => Volatile.Read(ref keyEncryptionKey);

    /// <inheritdoc/>
    public async ValueTask<IStoredFileWriter> OpenWriteAsync(string fileId, StoredFileMetadata metadata, CancellationToken cancellationToken = default)
    {
        FileIds.Validate(fileId);
        ArgumentNullException.ThrowIfNull(metadata);
        if (!openWriters.TryAdd(fileId, 0))
        {
            throw new StorageException($"Stored file '{fileId}' is already open for writing; close that writer first.");
        }

        try
        {
            var (createdAt, createdOffset) = SqliteCommands.ToColumns(DateTimeOffset.UtcNow);
            var row = await database.InTransactionAsync(
                c =>
                {
                    c.Execute(
                        "INSERT OR IGNORE INTO files(file_id, file_name, media_type, created_at_ticks, created_offset_minutes, is_complete, length) VALUES($id, $name, $media, $created, $offset, 0, 0)",
                        ("$id", fileId),
                        ("$name", metadata.FileName),
                        ("$media", metadata.MediaType),
                        ("$created", createdAt),
                        ("$offset", createdOffset));
                    var found = ReadRows(c, "WHERE file_id = $id", ("$id", fileId)).Single();
                    return (Row: found, FileKey: found.WrappedKey is null ? null : ChunkCipher.TryUnwrapKey(KeyEncryptionKey, fileId, found.WrappedKey));
                },
                cancellationToken).ConfigureAwait(false);
            if (row.Row.IsComplete)
            {
                throw new StorageException($"Stored file '{fileId}' is complete and cannot be written again; delete it first to replace it.");
            }

            return SqlCipherFileWriter.Resume(this, row.Row, row.FileKey);
        }
        catch
        {
            openWriters.TryRemove(fileId, out _);
            throw;
        }
    }

    /// <inheritdoc/>
    public async ValueTask<Stream> OpenReadAsync(string fileId, CancellationToken cancellationToken = default)
    {
        FileIds.Validate(fileId);
        var (row, fileKey) = await database.RunAsync(
            c =>
            {
                var found = ReadRows(c, "WHERE file_id = $id", ("$id", fileId)).SingleOrDefault()
                    ?? throw new StoredFileNotFoundException($"No stored file has the id '{fileId}'.");
                return (found, found.WrappedKey is null ? null : ChunkCipher.TryUnwrapKey(KeyEncryptionKey, fileId, found.WrappedKey));
            },
            cancellationToken).ConfigureAwait(false);
        if (row.ChunkSize is not { } chunkSize)
        {
            return new MemoryStream(row.InlineData ?? [], writable: false);
        }

        if (fileKey is null)
        {
            throw new StorageIntegrityException($"The key of stored file '{fileId}' does not unwrap under this store's key; the store was tampered with.");
        }

        return ChunkedReadStream.Open(fileId, ChunkFilePath(fileId), fileKey, chunkSize, row.FullChunks, row.Tail ?? [], row.Length);
    }

    /// <inheritdoc/>
    public ValueTask<StoredFileInfo?> GetInfoAsync(string fileId, CancellationToken cancellationToken = default)
    {
        FileIds.Validate(fileId);
        return database.RunAsync(c => ReadRows(c, "WHERE file_id = $id", ("$id", fileId)).SingleOrDefault()?.Info, cancellationToken);
    }

    /// <inheritdoc/>
    public async ValueTask<bool> DeleteAsync(string fileId, CancellationToken cancellationToken = default)
    {
        FileIds.Validate(fileId);
        if (openWriters.ContainsKey(fileId))
        {
            throw new StorageException($"Stored file '{fileId}' is open for writing; close its writer before deleting it.");
        }

        var deleted = await database.RunAsync(c => c.Execute("DELETE FROM files WHERE file_id = $id", ("$id", fileId)) == 1, cancellationToken)
            .ConfigureAwait(false);
        // The row goes first: a crash before this line leaves an orphan chunk file that the next open removes.
        File.Delete(ChunkFilePath(fileId));
        return deleted;
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<StoredFileInfo> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var rows = await database.RunAsync(c => ReadRows(c, "ORDER BY created_at_ticks, file_id"), cancellationToken).ConfigureAwait(false);
        foreach (var row in rows)
        {
            yield return row.Info;
        }
    }

    /// <summary>
    /// Writes a stored file back to plaintext at <paramref name="destinationPath"/>: every chunk is authenticated while
    /// reading, and the written copy is read back and hashed again before it is moved into place.
    /// </summary>
    /// <param name="fileId">The stored file.</param>
    /// <param name="destinationPath">Where the plaintext goes; an existing file there is replaced.</param>
    /// <param name="cancellationToken">Cancels the export.</param>
    /// <returns>The SHA-256 of the exported plaintext.</returns>
    /// <exception cref="StorageIntegrityException">The stored data was tampered with, or the copy on disk does not match.</exception>
    public async Task<byte[]> ExportAsync(string fileId, string destinationPath, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(destinationPath);
        var temporary = destinationPath + ".export-partial";
        byte[] written;
        var source = await OpenReadAsync(fileId, cancellationToken).ConfigureAwait(false);
        await using (source.ConfigureAwait(false))
        {
            var target = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0);
            await using (target.ConfigureAwait(false))
            {
                written = await CopyHashingAsync(source, target, cancellationToken).ConfigureAwait(false);
                target.Flush(flushToDisk: true);
            }
        }

        byte[] reread;
        var check = new FileStream(temporary, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
        await using (check.ConfigureAwait(false))
        {
            reread = await SHA256.HashDataAsync(check, cancellationToken).ConfigureAwait(false);
        }

        if (!reread.AsSpan().SequenceEqual(written))
        {
            File.Delete(temporary);
            throw new StorageIntegrityException($"The exported copy of '{fileId}' at '{destinationPath}' did not read back as written; check the disk.");
        }

        File.Move(temporary, destinationPath, overwrite: true);
        return written;
    }

    internal string ChunkFilePath(string fileId) => Path.Combine(FilesDirectory, fileId + ".chunks");

    internal void ReleaseWriter(string fileId) => openWriters.TryRemove(fileId, out _);

    /// <summary>Rewraps every file key for <paramref name="newKeyEncryptionKey"/> around <paramref name="rekeyDatabase"/>.</summary>
    internal void Rekey(SqliteConnection connection, byte[] newKeyEncryptionKey, Action rekeyDatabase)
    {
        var current = KeyEncryptionKey;
        SqliteDatabase.InTransaction(connection, c =>
        {
            foreach (var row in ReadRows(c, "WHERE wrapped_key IS NOT NULL"))
            {
                var fileKey = ChunkCipher.TryUnwrapKey(current, row.FileId, row.WrappedKey!)
                    ?? throw new StorageIntegrityException($"The key of stored file '{row.FileId}' does not unwrap under this store's key; the store was tampered with.");
                c.Execute(
                    "UPDATE files SET rewrapped_key = $key WHERE file_id = $id",
                    ("$key", ChunkCipher.WrapKey(newKeyEncryptionKey, row.FileId, fileKey)),
                    ("$id", row.FileId));
            }

            return 0;
        });
        rekeyDatabase();
        Volatile.Write(ref keyEncryptionKey, newKeyEncryptionKey);
        FinishRekey(connection);
    }

    /// <summary>Completes or rolls back a rekey that a crash interrupted, judged by which key opened the database.</summary>
    /// <returns>True when a rekey was finished, false when one was rolled back, null when none was interrupted.</returns>
    internal static bool? RecoverInterruptedRekey(SqliteConnection connection, byte[] keyEncryptionKey)
    {
        using var command = connection.Command("SELECT file_id, rewrapped_key FROM files WHERE rewrapped_key IS NOT NULL LIMIT 1");
        using var reader = command.ExecuteReader();
        if (!reader.Read())
        {
            return null;
        }

        var fileId = reader.GetString(0);
        var rewrapped = (byte[])reader.GetValue(1);
        reader.Close();
        if (ChunkCipher.TryUnwrapKey(keyEncryptionKey, fileId, rewrapped) is not null)
        {
            // The database opened with the new key, so the rekey happened: swap the new wrappings in.
            FinishRekey(connection);
            return true;
        }

        // The database still has the old key: the rekey never happened, so the old wrappings stand.
        connection.Execute("UPDATE files SET rewrapped_key = NULL");
        return false;
    }

    /// <summary>Deletes chunk files that no database row refers to (left by a crash during delete or before a first flush).</summary>
    /// <returns>How many were removed.</returns>
    /// <summary>Where chunk files that no stored file refers to are moved, never deleted (see <see cref="SetAsideOrphanChunkFiles"/>).</summary>
    public const string OrphanedFolderName = "orphaned";

    /// <summary>
    /// Moves chunk files that no stored file refers to (left by an interrupted write or delete, or the files of a
    /// database restored from an older backup) into <see cref="OrphanedFolderName"/>: they cannot be read without
    /// their row's wrapped key, but a newer copy of the database might still hold it, so they are set aside, not deleted.
    /// </summary>
    /// <returns>How many were moved.</returns>
    internal static int SetAsideOrphanChunkFiles(SqliteConnection connection, string filesDirectory)
    {
        var live = new HashSet<string>(StringComparer.Ordinal);
        using (var command = connection.Command("SELECT file_id FROM files WHERE chunk_size IS NOT NULL"))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                live.Add(reader.GetString(0));
            }
        }

        var moved = 0;
        foreach (var path in Directory.EnumerateFiles(filesDirectory, "*.chunks").ToList())
        {
            if (!live.Contains(Path.GetFileNameWithoutExtension(path)))
            {
                var aside = Directory.CreateDirectory(Path.Combine(filesDirectory, OrphanedFolderName)).FullName;
                var target = Path.Combine(aside, Path.GetFileName(path));
                for (var n = 1; File.Exists(target); n++)
                {
                    target = Path.Combine(aside, $"{Path.GetFileNameWithoutExtension(path)}.{n}.chunks");
                }

                File.Move(path, target);
                moved++;
            }
        }

        return moved;
    }

    internal static List<FileRow> ReadRows(SqliteConnection connection, string clause, params (string, object?)[] parameters)
    {
        using var command = connection.Command($"SELECT {FileColumns} FROM files {clause}", parameters);
        using var reader = command.ExecuteReader();
        var rows = new List<FileRow>();
        while (reader.Read())
        {
            rows.Add(new FileRow(
                reader.GetString(0),
                new StoredFileMetadata(reader.GetString(1), reader.NullableString(2)),
                SqliteCommands.FromColumns(reader.GetInt64(3), reader.GetInt64(4)),
                reader.GetInt64(5) != 0,
                reader.GetInt64(6),
                reader.NullableBlob(7),
                reader.IsDBNull(8) ? null : reader.GetInt32(8),
                reader.GetInt64(9),
                reader.NullableBlob(10),
                reader.NullableBlob(11)));
        }

        return rows;
    }

    private static void FinishRekey(SqliteConnection connection) =>
        SqliteDatabase.InTransaction(connection, c => c.Execute("UPDATE files SET wrapped_key = rewrapped_key, rewrapped_key = NULL WHERE rewrapped_key IS NOT NULL"));

    private static async Task<byte[]> CopyHashingAsync(Stream source, Stream target, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1024 * 1024];
        int read;
        while ((read = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            hash.AppendData(buffer, 0, read);
            await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
        }

        return hash.GetHashAndReset();
    }
}

/// <summary>One row of the <c>files</c> table.</summary>
internal sealed record FileRow(
    string FileId,
    StoredFileMetadata Metadata,
    DateTimeOffset CreatedAt,
    bool IsComplete,
    long Length,
    byte[]? InlineData,
    int? ChunkSize,
    long FullChunks,
    byte[]? Tail,
    byte[]? WrappedKey)
{
    public StoredFileInfo Info => new(FileId, Metadata, Length, IsComplete, CreatedAt);
}
