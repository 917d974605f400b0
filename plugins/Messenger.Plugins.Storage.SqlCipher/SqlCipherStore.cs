using System.Globalization;
using Messenger.Contracts.Storage;
using Messenger.Plugins.Storage.Sqlite;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Messenger.Plugins.Storage.SqlCipher;

/// <summary>
/// An encrypted store in one folder: <c>messenger.db</c> (SQLCipher, WAL) with chat history, transfer records, small
/// files and the wrapped per-file keys; <c>files/*.chunks</c> with large files as AES-256-GCM chunks; and, for
/// passphrase stores, the <c>messenger.kdf</c> salt header.
/// </summary>
public sealed class SqlCipherStore : IDisposable, IAsyncDisposable
{
    /// <summary>The database file name inside the store folder.</summary>
    public const string DatabaseFileName = "messenger.db";

    /// <summary>The folder (inside the store folder) that holds the chunk files of large files.</summary>
    public const string FilesFolderName = "files";

    private const string LockFileName = "messenger.lock";
    private const string StoreKind = "Messenger SQLCipher store";
    private const int SqliteNotADatabase = 26;

    /// <summary>The schema migrations; migration i brings the schema to version i + 1. Append only.</summary>
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
            inline_data BLOB,
            chunk_size INTEGER,
            full_chunks INTEGER NOT NULL DEFAULT 0,
            tail BLOB,
            wrapped_key BLOB,
            rewrapped_key BLOB);
        CREATE INDEX files_by_creation ON files(created_at_ticks);
        """,
        MessageSchema.TransferPeer,
        MessageSchema.ProfileRecords,
    ];

    private readonly SqliteDatabase database;
    private readonly FileStream lockFile;
    private readonly SqlCipherFileStore files;

    private SqlCipherStore(string directory, SqliteDatabase database, FileStream lockFile, byte[] keyEncryptionKey, int schemaVersion)
    {
        Directory = directory;
        this.database = database;
        this.lockFile = lockFile;
        SchemaVersion = schemaVersion;
        Messages = new SqliteMessageStore(database);
        Profile = new SqliteProfileStore(database);
        files = new SqlCipherFileStore(database, Path.Combine(directory, FilesFolderName), keyEncryptionKey);
    }

    /// <summary>The newest schema version this build writes.</summary>
    public static int CurrentSchemaVersion => Migrations.Length;

    /// <summary>The store folder.</summary>
    public string Directory { get; }

    /// <summary>The schema version of the open database (always <see cref="CurrentSchemaVersion"/> once open).</summary>
    public int SchemaVersion { get; }

    /// <summary>Chat history and transfer records.</summary>
    public IMessageStore Messages { get; }

    /// <summary>The profile's named records (its identity, its contacts).</summary>
    public IProfileStore Profile { get; }

    /// <summary>Received files.</summary>
    public SqlCipherFileStore Files => files;

    /// <summary>Opens the store in <paramref name="directory"/>, creating it when absent.</summary>
    /// <param name="directory">The store folder.</param>
    /// <param name="key">The passphrase or raw key.</param>
    /// <param name="logger">Where opening reports migrations and crash recovery; null for none.</param>
    /// <returns>The open store.</returns>
    /// <exception cref="StorageKeyException">The key is wrong or the folder holds something that is not a Messenger store.</exception>
    /// <exception cref="StorageException">SQLCipher is missing, the store is in use, or it was written by a newer version.</exception>
    public static SqlCipherStore Open(string directory, StoreKey key, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(key);
        logger ??= NullLogger.Instance;
        SqliteEngine.EnsureLoaded(["libsqlcipher.so.0", "libsqlcipher.so"], "Install SQLCipher: on Debian or Ubuntu, apt-get install libsqlcipher0.");
        directory = Path.GetFullPath(directory);
        System.IO.Directory.CreateDirectory(directory);
        System.IO.Directory.CreateDirectory(Path.Combine(directory, FilesFolderName));
        var lockFile = TakeLock(directory);
        SqliteConnection? connection = null;
        try
        {
            var database = new FileInfo(Path.Combine(directory, DatabaseFileName));
            var creating = !database.Exists || database.Length == 0;
            if (creating)
            {
                RefuseToCreateOverRemains(directory, databaseMissing: !database.Exists);
            }

            var databaseKey = DatabaseKey(directory, key, creating);
            connection = OpenConnection(Path.Combine(directory, DatabaseFileName), databaseKey);
            var version = SchemaMigrator.Migrate(connection, Migrations, StoreKind, logger);
            var keyEncryptionKey = ChunkCipher.DeriveKeyEncryptionKey(databaseKey);
            switch (SqlCipherFileStore.RecoverInterruptedRekey(connection, keyEncryptionKey))
            {
                case true:
                    logger.LogWarning("Finished a rekey of the store in {Directory} that was interrupted after the database was re-encrypted", directory);
                    break;
                case false:
                    logger.LogWarning("Rolled back a rekey of the store in {Directory} that was interrupted before the database was re-encrypted", directory);
                    break;
            }

            var orphans = SqlCipherFileStore.SetAsideOrphanChunkFiles(connection, Path.Combine(directory, FilesFolderName));
            if (orphans > 0)
            {
                logger.LogWarning(
                    "Moved {Count} chunk files in {Directory} that no stored file refers to (left by an interrupted write or delete, or by a database older than its files) into {Folder}; delete them once you know they are not needed",
                    orphans,
                    directory,
                    Path.Combine(FilesFolderName, SqlCipherFileStore.OrphanedFolderName));
            }

            return new SqlCipherStore(directory, new SqliteDatabase(connection), lockFile, keyEncryptionKey, version);
        }
        catch (SqliteException exception)
        {
            connection?.Dispose();
            lockFile.Dispose();
            throw new StorageException($"Could not open the store in '{directory}': {exception.Message}", exception);
        }
        catch
        {
            connection?.Dispose();
            lockFile.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Changes the store's key: the database is re-encrypted (SQLCipher <c>PRAGMA rekey</c>) and every per-file key is
    /// rewrapped. Crash-safe: the new wrappings are written before the rekey and swapped in after it.
    /// </summary>
    /// <param name="newKey">The new passphrase or raw key. A passphrase keeps the store's existing salt header when it has one.</param>
    public void Rekey(StoreKey newKey)
    {
        ArgumentNullException.ThrowIfNull(newKey);
        var newDatabaseKey = DatabaseKey(Directory, newKey, creating: KdfHeader.Read(Directory) is null);
        var newKeyEncryptionKey = ChunkCipher.DeriveKeyEncryptionKey(newDatabaseKey);
        database.RunBlocking(connection =>
        {
            files.Rekey(connection, newKeyEncryptionKey, () => connection.Execute($"PRAGMA rekey = \"x'{Convert.ToHexString(newDatabaseKey)}'\""));
            return 0;
        });
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        database.Dispose();
        lockFile.Dispose();
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private static FileStream TakeLock(string directory)
    {
        var path = Path.Combine(directory, LockFileName);
        try
        {
            // FileShare.None is an advisory lock on Linux that the OS drops when the process dies, even by SIGKILL.
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException exception)
        {
            throw new StorageException($"The store in '{directory}' is in use by another Messenger process; close it first.", exception);
        }
    }

    /// <summary>
    /// A new database is never created over what an existing store left: encrypted chunk files, a write-ahead log, or
    /// (with no database file at all) a passphrase header. A new database there would be keyed with whatever
    /// passphrase was typed, possibly a mistyped one, and the files it cannot read would look unreferenced. Refused
    /// with a message instead; nothing is changed.
    /// </summary>
    private static void RefuseToCreateOverRemains(string directory, bool databaseMissing)
    {
        var remains = new List<string>();
        var chunkFiles = System.IO.Directory.EnumerateFiles(Path.Combine(directory, FilesFolderName), "*.chunks", SearchOption.AllDirectories).Count();
        if (chunkFiles > 0)
        {
            remains.Add($"{chunkFiles} encrypted chunk file(s) in {FilesFolderName}/");
        }

        if (new FileInfo(Path.Combine(directory, DatabaseFileName + "-wal")) is { Exists: true, Length: > 0 })
        {
            remains.Add($"a write-ahead log ({DatabaseFileName}-wal)");
        }

        if (databaseMissing && File.Exists(Path.Combine(directory, KdfHeader.FileName)))
        {
            remains.Add($"a passphrase header ({KdfHeader.FileName})");
        }

        if (remains.Count > 0)
        {
            throw new StorageException(
                $"The store in '{directory}' has no database ({DatabaseFileName} is {(databaseMissing ? "missing" : "empty")}) but holds {string.Join(" and ", remains)}: "
                + $"it is not created anew over them, which would make them unreadable. Restore {DatabaseFileName} from a backup, or move the folder aside to start a new store.");
        }
    }

    private static byte[] DatabaseKey(string directory, StoreKey key, bool creating)
    {
        if (!key.IsPassphrase)
        {
            return key.RawKeyCopy();
        }

        var header = KdfHeader.Read(directory);
        if (header is null)
        {
            if (!creating)
            {
                throw new StorageKeyException("Wrong passphrase or not a Messenger store. This store has no passphrase header (messenger.kdf): it was created with a raw key.");
            }

            header = KdfHeader.Create(key.Parameters);
            header.Write(directory);
        }

        return header.DeriveKey(key.Passphrase!);
    }

    private static SqliteConnection OpenConnection(string path, byte[] databaseKey)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            // A pooled connection would keep its key state between opens; one connection per store is plenty.
            Pooling = false,
        }.ToString());
        try
        {
            connection.Open();
            if (string.IsNullOrEmpty(Convert.ToString(connection.Scalar("PRAGMA cipher_version"), CultureInfo.InvariantCulture)))
            {
                throw new StorageException("The SQLite library loaded in this process is not SQLCipher, so the store cannot be encrypted. Install libsqlcipher0.");
            }

            // The raw-key form skips SQLCipher's own PBKDF2: the key is already derived (Argon2id) or random.
            connection.Execute($"PRAGMA key = \"x'{Convert.ToHexString(databaseKey)}'\"");
            try
            {
                connection.Scalar("SELECT count(*) FROM sqlite_master");
            }
            catch (SqliteException exception) when (exception.SqliteErrorCode == SqliteNotADatabase)
            {
                throw new StorageKeyException("Wrong passphrase or not a Messenger store.", exception);
            }

            var mode = Convert.ToString(connection.Scalar("PRAGMA journal_mode = WAL"), CultureInfo.InvariantCulture);
            if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
            {
                throw new StorageException($"The store's database could not switch to write-ahead logging (it reports '{mode}'); check the folder is on a local disk.");
            }

            // FULL syncs the WAL on every commit: a completed call must survive a crash or power loss.
            connection.Execute("PRAGMA synchronous = FULL");
            connection.Execute("PRAGMA busy_timeout = 5000");
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }
}
