using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Messenger.Contracts.Storage;
using Messenger.Plugins.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace Messenger.Plugins.Storage.Folder;

/// <summary>
/// Received files as ordinary files: written to <c>.messenger-incoming/&lt;id&gt;.part</c>, then moved into the
/// downloads folder under the sanitised file name (numbered on a clash) when complete. Not encrypted and not
/// tamper-evident beyond its recorded length: choose the SQLCipher store for that.
/// </summary>
public sealed class FolderFileStore : IFileStore, IDisposable
{
    private const string Columns = "file_id, file_name, media_type, created_at_ticks, created_offset_minutes, is_complete, length, final_name";

    private readonly SqliteDatabase database;
    private readonly ConcurrentDictionary<string, byte> openWriters = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim naming = new(1, 1);

    internal FolderFileStore(SqliteDatabase database, string downloadsDirectory)
    {
        this.database = database;
        DownloadsDirectory = downloadsDirectory;
    }

    /// <summary>The folder completed files are moved into.</summary>
    public string DownloadsDirectory { get; }

    /// <inheritdoc/>
    public long? AvailableBytes => DiskSpace.AvailableBytes(DownloadsDirectory);

    internal SqliteDatabase Database => database;

    /// <summary>Where a completed file is, or null when it is not complete or not stored.</summary>
    /// <param name="fileId">The file id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The full path in the downloads folder, or null.</returns>
    public async ValueTask<string?> GetCompletedPathAsync(string fileId, CancellationToken cancellationToken = default)
    {
        FileIds.Validate(fileId);
        var row = await FindAsync(fileId, cancellationToken).ConfigureAwait(false);
        return row is { IsComplete: true, FinalName: { } name } ? Path.Combine(DownloadsDirectory, name) : null;
    }

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
            var (created, offset) = SqliteCommands.ToColumns(DateTimeOffset.UtcNow);
            var row = await database.InTransactionAsync(
                c =>
                {
                    c.Execute(
                        $"INSERT OR IGNORE INTO files({Columns}) VALUES($id, $name, $media, $created, $offset, 0, 0, NULL)",
                        ("$id", fileId),
                        ("$name", metadata.FileName),
                        ("$media", metadata.MediaType),
                        ("$created", created),
                        ("$offset", offset));
                    return ReadRows(c, "WHERE file_id = $id", ("$id", fileId)).Single();
                },
                cancellationToken).ConfigureAwait(false);
            if (row.IsComplete)
            {
                throw new StorageException($"Stored file '{fileId}' is complete and cannot be written again; delete it first to replace it.");
            }

            return FolderFileWriter.Resume(this, row, PartPath(fileId));
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
        var row = await FindAsync(fileId, cancellationToken).ConfigureAwait(false)
            ?? throw new StoredFileNotFoundException($"No stored file has the id '{fileId}'.");
        var path = row.IsComplete ? Path.Combine(DownloadsDirectory, row.FinalName!) : PartPath(fileId);
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 64 * 1024);
        }
        catch (FileNotFoundException exception)
        {
            throw new StoredFileNotFoundException($"Stored file '{fileId}' ('{row.Info.Metadata.FileName}') is no longer at '{path}'; it was moved or deleted outside Messenger.", exception);
        }

        if (file.Length < row.Length)
        {
            await file.DisposeAsync().ConfigureAwait(false);
            throw new StorageIntegrityException($"Stored file '{fileId}' at '{path}' is shorter than its recorded {row.Length} bytes; it was changed outside Messenger.");
        }

        return new BoundedReadStream(file, row.Length, fileId);
    }

    /// <inheritdoc/>
    public async ValueTask<StoredFileInfo?> GetInfoAsync(string fileId, CancellationToken cancellationToken = default)
    {
        FileIds.Validate(fileId);
        return (await FindAsync(fileId, cancellationToken).ConfigureAwait(false))?.Info;
    }

    /// <inheritdoc/>
    public async ValueTask<bool> DeleteAsync(string fileId, CancellationToken cancellationToken = default)
    {
        FileIds.Validate(fileId);
        if (openWriters.ContainsKey(fileId))
        {
            throw new StorageException($"Stored file '{fileId}' is open for writing; close its writer before deleting it.");
        }

        var row = await database.RunAsync(
            c =>
            {
                var found = ReadRows(c, "WHERE file_id = $id", ("$id", fileId)).SingleOrDefault();
                c.Execute("DELETE FROM files WHERE file_id = $id", ("$id", fileId));
                return found;
            },
            cancellationToken).ConfigureAwait(false);
        if (row is null)
        {
            return false;
        }

        File.Delete(PartPath(fileId));
        if (row.FinalName is { } name)
        {
            File.Delete(Path.Combine(DownloadsDirectory, name));
        }

        return true;
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

    /// <inheritdoc/>
    public void Dispose() => naming.Dispose();

    internal string PartPath(string fileId) => Path.Combine(DownloadsDirectory, FolderStore.IncomingFolderName, fileId + ".part");

    internal void ReleaseWriter(string fileId) => openWriters.TryRemove(fileId, out _);

    /// <summary>Moves a finished part file to a free name in the downloads folder, recording the name before the move.</summary>
    internal async ValueTask<string> PublishAsync(FolderFileRow row, long length, CancellationToken cancellationToken)
    {
        await naming.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var wanted = FileNameSanitizer.Sanitize(row.Info.Metadata.FileName);
            var name = wanted;
            for (var number = 1; File.Exists(Path.Combine(DownloadsDirectory, name)) || Directory.Exists(Path.Combine(DownloadsDirectory, name)); number++)
            {
                name = FileNameSanitizer.Numbered(wanted, number);
            }

            // The name is durable before the move, so recovery after a crash knows where the file went.
            await database.RunAsync(c => c.Execute("UPDATE files SET final_name = $name, length = $length WHERE file_id = $id", ("$name", name), ("$length", length), ("$id", row.FileId)), cancellationToken)
                .ConfigureAwait(false);
            File.Move(PartPath(row.FileId), Path.Combine(DownloadsDirectory, name), overwrite: false);
            await database.RunAsync(c => c.Execute("UPDATE files SET is_complete = 1 WHERE file_id = $id", ("$id", row.FileId)), cancellationToken)
                .ConfigureAwait(false);
            return name;
        }
        finally
        {
            naming.Release();
        }
    }

    /// <summary>Finishes moves a crash interrupted and removes part files no row refers to.</summary>
    /// <returns>How many moves were finished and how many part files removed.</returns>
    internal static (int Finished, int Orphans) Recover(SqliteConnection connection, string downloadsDirectory)
    {
        var incoming = Path.Combine(downloadsDirectory, FolderStore.IncomingFolderName);
        var rows = ReadRows(connection, string.Empty);
        var finished = 0;
        foreach (var row in rows.Where(r => !r.IsComplete && r.FinalName is not null))
        {
            var part = Path.Combine(incoming, row.FileId + ".part");
            var moved = !File.Exists(part) && File.Exists(Path.Combine(downloadsDirectory, row.FinalName!));
            finished += moved ? 1 : 0;
            connection.Execute(
                moved ? "UPDATE files SET is_complete = 1 WHERE file_id = $id" : "UPDATE files SET final_name = NULL WHERE file_id = $id",
                ("$id", row.FileId));
        }

        var live = rows.Where(r => !r.IsComplete).Select(r => r.FileId).ToHashSet(StringComparer.Ordinal);
        var orphans = 0;
        foreach (var path in Directory.EnumerateFiles(incoming, "*.part"))
        {
            if (!live.Contains(Path.GetFileNameWithoutExtension(path)))
            {
                File.Delete(path);
                orphans++;
            }
        }

        return (finished, orphans);
    }

    private ValueTask<FolderFileRow?> FindAsync(string fileId, CancellationToken cancellationToken) =>
        database.RunAsync(c => ReadRows(c, "WHERE file_id = $id", ("$id", fileId)).SingleOrDefault(), cancellationToken);

    private static List<FolderFileRow> ReadRows(SqliteConnection connection, string clause, params (string, object?)[] parameters)
    {
        using var command = connection.Command($"SELECT {Columns} FROM files {clause}", parameters);
        using var reader = command.ExecuteReader();
        var rows = new List<FolderFileRow>();
        while (reader.Read())
        {
            rows.Add(new FolderFileRow(
                reader.GetString(0),
                new StoredFileInfo(
                    reader.GetString(0),
                    new StoredFileMetadata(reader.GetString(1), reader.NullableString(2)),
                    reader.GetInt64(6),
                    reader.GetInt64(5) != 0,
                    SqliteCommands.FromColumns(reader.GetInt64(3), reader.GetInt64(4))),
                reader.NullableString(7)));
        }

        return rows;
    }
}

/// <summary>One row of the folder store's <c>files</c> table.</summary>
internal sealed record FolderFileRow(string FileId, StoredFileInfo Info, string? FinalName)
{
    public bool IsComplete => Info.IsComplete;

    public long Length => Info.Length;
}
