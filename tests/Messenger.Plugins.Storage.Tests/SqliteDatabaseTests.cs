using System.Globalization;
using Messenger.Contracts.Storage;
using Messenger.Plugins.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace Messenger.Plugins.Storage.Tests;

/// <summary>The shared connection wrapper both stores use: what a write without a sync leaves behind.</summary>
public sealed class SqliteDatabaseTests : IDisposable
{
    private readonly TempDirectory _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task RunWithoutSync_CommitsAtNormal_AndEveryOtherWriteStaysFull_EvenAfterAFailure()
    {
        // The engine the SQLCipher store loads (run alone, no store has loaded it yet).
        SqliteEngine.EnsureLoaded(["libsqlcipher.so.0", "libsqlcipher.so"], "apt-get install libsqlcipher0");
        var connection = new SqliteConnection($"Data Source={_folder.Combine("t.db")}");
        connection.Open();
        connection.Execute("PRAGMA journal_mode = WAL");
        connection.Execute("PRAGMA synchronous = FULL");
        connection.Execute("CREATE TABLE t(x)");
        using var database = new SqliteDatabase(connection);
        int Synchronous(SqliteConnection c) => Convert.ToInt32(c.Scalar("PRAGMA synchronous"), CultureInfo.InvariantCulture);

        // SQLite: 1 is NORMAL, 2 is FULL.
        Assert.Equal(1, await database.RunWithoutSyncAsync(
            c =>
            {
                c.Execute("INSERT INTO t VALUES(1)");
                return Synchronous(c);
            },
            CancellationToken.None));
        Assert.Equal(2, await database.RunAsync(Synchronous, CancellationToken.None));

        await Assert.ThrowsAsync<StorageException>(async () => await database.RunWithoutSyncAsync(
            c =>
            {
                c.Execute("INSERT INTO missing VALUES(1)");
                return 0;
            },
            CancellationToken.None));
        Assert.Equal(2, await database.RunAsync(Synchronous, CancellationToken.None));
        Assert.Equal(1L, await database.RunAsync(c => c.Scalar("SELECT count(*) FROM t"), CancellationToken.None));
    }
}
