namespace Messenger.Plugins.Storage.Sqlite;

/// <summary>The tables for chat history and transfer records that every SQLite-backed store shares.</summary>
internal static class MessageSchema
{
    /// <summary>Version 1: messages, conversations and transfers. Written for SQLite 3.15 (no UPSERT, no RETURNING).</summary>
    public const string Version1 = """
        CREATE TABLE messages(
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            message_id TEXT NOT NULL UNIQUE,
            conversation_id TEXT NOT NULL,
            direction INTEGER NOT NULL,
            sent_at_ticks INTEGER NOT NULL,
            sent_offset_minutes INTEGER NOT NULL,
            text TEXT NOT NULL,
            delivered_at_ticks INTEGER,
            delivered_offset_minutes INTEGER,
            attachment_transfer_id TEXT);
        CREATE INDEX messages_by_conversation ON messages(conversation_id, sent_at_ticks, seq);
        CREATE TABLE conversations(
            conversation_id TEXT PRIMARY KEY,
            message_count INTEGER NOT NULL,
            last_sent_at_ticks INTEGER,
            last_offset_minutes INTEGER);
        CREATE INDEX conversations_by_recency ON conversations(last_sent_at_ticks);
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
        """;

    /// <summary>
    /// Version 3 (the third migration of every SQLite-backed store): the peer each transfer belongs to. Records written
    /// before it keep a NULL peer, which the file transfer never resumes automatically: their conversation_id followed
    /// whichever peer was connected when they were last saved, so it cannot say whose they are.
    /// </summary>
    public const string TransferPeer = """
        ALTER TABLE transfers ADD COLUMN peer_id TEXT;
        """;

    /// <summary>
    /// Version 4 (the fourth migration of every SQLite-backed store): small named records of the profile
    /// (<see cref="Messenger.Contracts.Storage.IProfileStore"/>), such as its identity and its contacts. Adding an empty
    /// table leaves every earlier row as it was.
    /// </summary>
    public const string ProfileRecords = """
        CREATE TABLE profile_records(
            record_key TEXT PRIMARY KEY,
            value BLOB NOT NULL);
        """;
}
