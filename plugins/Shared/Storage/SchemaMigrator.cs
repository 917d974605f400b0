using Messenger.Contracts.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Messenger.Plugins.Storage.Sqlite;

/// <summary>Brings a store's schema to the newest version, one numbered migration per transaction.</summary>
internal static class SchemaMigrator
{
    /// <summary>Applies the migrations after the database's <c>user_version</c>; migration i produces version i + 1.</summary>
    /// <returns>The schema version after migrating.</returns>
    public static int Migrate(SqliteConnection connection, IReadOnlyList<string> migrations, string storeKind, ILogger logger)
    {
        var version = Convert.ToInt32(connection.Scalar("PRAGMA user_version"), System.Globalization.CultureInfo.InvariantCulture);
        if (version > migrations.Count)
        {
            throw new StorageException(
                $"This {storeKind} has schema version {version}, written by a newer Messenger; this version understands up to {migrations.Count}. Update Messenger.");
        }

        if (version == 0 && Convert.ToInt64(connection.Scalar("SELECT count(*) FROM sqlite_master"), System.Globalization.CultureInfo.InvariantCulture) > 0)
        {
            throw new StorageKeyException($"Wrong passphrase or not a Messenger store. The database holds tables but is not a {storeKind}.");
        }

        for (var next = version; next < migrations.Count; next++)
        {
            SqliteDatabase.InTransaction(connection, c =>
            {
                c.Execute(migrations[next]);
                // PRAGMA takes no parameters; the value is our own integer.
                c.Execute($"PRAGMA user_version = {next + 1}");
                return 0;
            });
        }

        if (version < migrations.Count)
        {
            logger.LogInformation("Migrated the {StoreKind} schema from version {From} to {To}", storeKind, version, migrations.Count);
        }

        return migrations.Count;
    }
}
