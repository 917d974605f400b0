using Microsoft.Data.Sqlite;

namespace Messenger.Plugins.Storage.Tests;

/// <summary>Turns a closed store's database back into what an earlier Messenger wrote, for migration tests.</summary>
internal static class EarlierSchemas
{
    /// <summary>
    /// Schema version 2: the transfers table without <c>peer_id</c> (as versions 1 and 2 created it) and no
    /// <c>profile_records</c> (version 4), holding one
    /// unfinished outgoing transfer filed under the conversation <c>carol</c> (whoever was connected last).
    /// </summary>
    public static void MakeVersion2WithOneTransfer(SqliteConnection connection, string transferId)
    {
        connection.Execute($"""
            DROP TABLE transfers;
            DROP TABLE IF EXISTS profile_records;
            CREATE TABLE transfers(
                transfer_id TEXT PRIMARY KEY,
                conversation_id TEXT NOT NULL,
                direction INTEGER NOT NULL,
                file_name TEXT NOT NULL,
                size INTEGER NOT NULL,
                media_type TEXT NOT NULL,
                chunk_size INTEGER NOT NULL,
                sha256 BLOB NOT NULL,
                state INTEGER NOT NULL,
                verified_bytes INTEGER NOT NULL,
                file_id TEXT,
                source_path TEXT,
                chat_message_id TEXT,
                reason TEXT,
                created_at_ticks INTEGER NOT NULL,
                created_offset_minutes INTEGER NOT NULL,
                updated_at_ticks INTEGER NOT NULL,
                updated_offset_minutes INTEGER NOT NULL);
            CREATE INDEX transfers_by_creation ON transfers(created_at_ticks);
            INSERT INTO transfers VALUES('{transferId}', 'carol', 0, 'big1g.bin', 1073741824, 'application/octet-stream', 16384,
                zeroblob(32), 2, 214748364, NULL, '/home/alice/big1g.bin', NULL, NULL, 638000000000000000, 0, 638000000000000000, 0);
            PRAGMA user_version = 2;
            """);
    }
}
