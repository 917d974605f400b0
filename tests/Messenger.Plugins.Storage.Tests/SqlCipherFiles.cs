using Messenger.Plugins.Storage.SqlCipher;
using Microsoft.Data.Sqlite;

namespace Messenger.Plugins.Storage.Tests;

/// <summary>Reaches into a SQLCipher store folder the way an attacker with the disk would.</summary>
internal static class SqlCipherFiles
{
    public const int ChunkSize = SqlCipherFileStore.DefaultChunkSize;
    public const int SlotSize = 12 + ChunkSize + 16;

    public static string ChunkFile(string folder, string fileId) => Path.Combine(folder, SqlCipherStore.FilesFolderName, fileId + ".chunks");

    /// <summary>Opens the store's database directly with its raw key (the store itself must be closed).</summary>
    public static SqliteConnection OpenDatabase(string folder, byte[] rawKey)
    {
        var connection = new SqliteConnection($"Data Source={Path.Combine(folder, SqlCipherStore.DatabaseFileName)};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"PRAGMA key = \"x'{Convert.ToHexString(rawKey)}'\"";
        command.ExecuteNonQuery();
        return connection;
    }

    public static void Execute(this SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
