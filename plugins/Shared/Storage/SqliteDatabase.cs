using Messenger.Contracts.Storage;
using Microsoft.Data.Sqlite;

namespace Messenger.Plugins.Storage.Sqlite;

/// <summary>One SQLite connection shared by a store, with every use serialised and every failure typed.</summary>
internal sealed class SqliteDatabase : IDisposable
{
    private readonly SemaphoreSlim gate = new(1, 1);
    private readonly SqliteConnection connection;
    private bool disposed;

    public SqliteDatabase(SqliteConnection openConnection)
    {
        connection = openConnection;
    }

    /// <summary>Runs <paramref name="work"/> alone on the connection.</summary>
    public async ValueTask<T> RunAsync<T>(Func<SqliteConnection, T> work, CancellationToken cancellationToken)
    {
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return Run(work);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> alone on the connection, committing without waiting for the disk
    /// (<c>synchronous = NORMAL</c> for this statement in WAL mode): the change survives the process ending at once and
    /// reaches the disk with the next durable commit or checkpoint; a power failure before that may lose it, never
    /// corrupts the database. For marks whose loss only shows an older state (a delivery tick), not for data.
    /// </summary>
    public ValueTask<T> RunWithoutSyncAsync<T>(Func<SqliteConnection, T> work, CancellationToken cancellationToken) =>
        RunAsync(
            c =>
            {
                c.Execute("PRAGMA synchronous = NORMAL");
                try
                {
                    return work(c);
                }
                finally
                {
                    c.Execute("PRAGMA synchronous = FULL");
                }
            },
            cancellationToken);

    /// <summary>Runs <paramref name="work"/> alone on the connection inside one durable transaction.</summary>
    public ValueTask<T> InTransactionAsync<T>(Func<SqliteConnection, T> work, CancellationToken cancellationToken) =>
        RunAsync(c => InTransaction(c, work), cancellationToken);

    /// <summary>Runs <paramref name="work"/> alone on the connection, blocking; for start-up and maintenance.</summary>
    public T RunBlocking<T>(Func<SqliteConnection, T> work)
    {
        gate.Wait();
        try
        {
            return Run(work);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Runs <paramref name="work"/> in a transaction on a connection the caller already holds.</summary>
    public static T InTransaction<T>(SqliteConnection connection, Func<SqliteConnection, T> work)
    {
        // Deferred transactions can fail to upgrade to a write lock mid-way; IMMEDIATE takes it up front.
        using var transaction = connection.BeginTransaction(deferred: false);
        var result = work(connection);
        transaction.Commit();
        return result;
    }

    public void Dispose()
    {
        gate.Wait();
        try
        {
            if (!disposed)
            {
                disposed = true;
                connection.Dispose();
            }
        }
        finally
        {
            gate.Release();
        }
    }

    private T Run<T>(Func<SqliteConnection, T> work)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        try
        {
            return work(connection);
        }
        catch (SqliteException exception)
        {
            throw new StorageException($"The store's database failed: {exception.Message}", exception);
        }
    }
}
