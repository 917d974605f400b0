using Messenger.Contracts.Storage;
using Messenger.Plugins.Storage.Sqlite;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Messenger.Plugins.Storage.Folder;

/// <summary>
/// A plain, unencrypted store: completed files in a downloads folder under their real (sanitised) names, files in
/// progress in its <c>.messenger-incoming</c> subfolder, and chat history, transfer records and the file index in a
/// plain SQLite database (<c>index.db</c>) that any SQLite tool can read.
/// </summary>
public sealed class FolderStore : IDisposable, IAsyncDisposable
{
    /// <summary>The index database file name inside the data folder.</summary>
    public const string IndexFileName = "index.db";

    /// <summary>The subfolder of the downloads folder that holds files still being received.</summary>
    public const string IncomingFolderName = ".messenger-incoming";

    private const string LockFileName = "index.lock";
    private const string StoreKind = "Messenger folder store";

    private static readonly string[] Migrations =
    [
        MessageSchema.Version1,
        """
        CREATE TABLE files(
            file_id TEXT PRIMARY KEY,
            file_name TEXT NOT NULL,
            media_type TEXT,
            created_at_ticks INTEGER NOT NULL,
            created_offset_minutes INTEGER NOT NULL,
            is_complete INTEGER NOT NULL,
            length INTEGER NOT NULL,
            final_name TEXT);
        CREATE INDEX files_by_creation ON files(created_at_ticks);
        """,
        MessageSchema.TransferPeer,
        MessageSchema.ProfileRecords,
    ];

    private readonly SqliteDatabase database;
    private readonly FileStream lockFile;

    private FolderStore(SqliteDatabase database, FileStream lockFile, string downloadsDirectory, int schemaVersion)
    {
        this.database = database;
        this.lockFile = lockFile;
        SchemaVersion = schemaVersion;
        Messages = new SqliteMessageStore(database);
        Profile = new SqliteProfileStore(database);
        Files = new FolderFileStore(database, downloadsDirectory);
    }

    /// <summary>The schema version of the open index.</summary>
    public int SchemaVersion { get; }

    /// <summary>Chat history and transfer records.</summary>
    public IMessageStore Messages { get; }

    /// <summary>The profile's named records (its identity, its contacts).</summary>
    public IProfileStore Profile { get; }

    /// <summary>Received files.</summary>
    public FolderFileStore Files { get; }

    /// <summary>Opens (or creates) the store.</summary>
    /// <param name="dataDirectory">The folder for <c>index.db</c>.</param>
    /// <param name="downloadsDirectory">The folder completed files are moved into.</param>
    /// <param name="logger">Where opening reports migrations and crash recovery; null for none.</param>
    /// <returns>The open store.</returns>
    /// <exception cref="StorageException">No SQLite library, the store is in use, or it was written by a newer version.</exception>
    public static FolderStore Open(string dataDirectory, string downloadsDirectory, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(dataDirectory);
        ArgumentException.ThrowIfNullOrEmpty(downloadsDirectory);
        logger ??= NullLogger.Instance;
        // SQLCipher without a key is plain SQLite; preferring it keeps one SQLite engine in a process that loads both stores.
        SqliteEngine.EnsureLoaded(["libsqlcipher.so.0", "libsqlite3.so.0"], "Install SQLite: on Debian or Ubuntu, apt-get install libsqlite3-0.");
        dataDirectory = Path.GetFullPath(dataDirectory);
        downloadsDirectory = Path.GetFullPath(downloadsDirectory);
        Directory.CreateDirectory(dataDirectory);
        Directory.CreateDirectory(Path.Combine(downloadsDirectory, IncomingFolderName));
        FileStream lockFile;
        try
        {
            lockFile = new FileStream(Path.Combine(dataDirectory, LockFileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException exception)
        {
            throw new StorageException($"The store in '{dataDirectory}' is in use by another Messenger process; close it first.", exception);
        }

        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(dataDirectory, IndexFileName),
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
        }.ToString());
        try
        {
            connection.Open();
            connection.Execute("PRAGMA journal_mode = WAL");
            // FULL syncs the WAL on every commit: a completed call must survive a crash or power loss.
            connection.Execute("PRAGMA synchronous = FULL");
            connection.Execute("PRAGMA busy_timeout = 5000");
            var version = SchemaMigrator.Migrate(connection, Migrations, StoreKind, logger);
            var (finished, orphans) = FolderFileStore.Recover(connection, downloadsDirectory);
            if (finished + orphans > 0)
            {
                logger.LogWarning("Recovered the folder store after an interruption: {Finished} moves into {Downloads} finished, {Orphans} stray part files removed", finished, downloadsDirectory, orphans);
            }

            return new FolderStore(new SqliteDatabase(connection), lockFile, downloadsDirectory, version);
        }
        catch (SqliteException exception)
        {
            connection.Dispose();
            lockFile.Dispose();
            throw exception.SqliteErrorCode == 26
                ? new StorageKeyException($"'{Path.Combine(dataDirectory, IndexFileName)}' is not a Messenger store (it may be an encrypted SQLCipher store).", exception)
                : new StorageException($"Could not open the store in '{dataDirectory}': {exception.Message}", exception);
        }
        catch
        {
            connection.Dispose();
            lockFile.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Files.Dispose();
        database.Dispose();
        lockFile.Dispose();
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}
