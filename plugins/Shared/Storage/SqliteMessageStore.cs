using System.Runtime.CompilerServices;
using Messenger.Contracts.Storage;
using Microsoft.Data.Sqlite;

namespace Messenger.Plugins.Storage.Sqlite;

/// <summary>Chat history and transfer records in the tables of <see cref="MessageSchema"/>.</summary>
internal sealed class SqliteMessageStore(SqliteDatabase database) : IMessageStore
{
    private const string MessageColumns =
        "message_id, conversation_id, direction, sent_at_ticks, sent_offset_minutes, text, delivered_at_ticks, delivered_offset_minutes, attachment_transfer_id";

    private const string TransferColumns =
        "transfer_id, conversation_id, direction, file_name, size, media_type, chunk_size, sha256, state, verified_bytes, file_id, source_path, chat_message_id, reason, created_at_ticks, created_offset_minutes, updated_at_ticks, updated_offset_minutes, peer_id";

    public ValueTask<bool> AddMessageAsync(StoredMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        var (sentTicks, sentOffset) = SqliteCommands.ToColumns(message.SentAt);
        var delivered = message.DeliveredAt is { } d ? SqliteCommands.ToColumns(d) : ((long, int)?)null;
        return database.InTransactionAsync(
            c =>
            {
                var added = c.Execute(
                    $"INSERT OR IGNORE INTO messages({MessageColumns}) VALUES($id, $conversation, $direction, $sent, $sentOffset, $text, $delivered, $deliveredOffset, $attachment)",
                    ("$id", message.MessageId),
                    ("$conversation", message.ConversationId),
                    ("$direction", (int)message.Direction),
                    ("$sent", sentTicks),
                    ("$sentOffset", sentOffset),
                    ("$text", message.Text),
                    ("$delivered", delivered?.Item1),
                    ("$deliveredOffset", delivered?.Item2),
                    ("$attachment", message.AttachmentTransferId)) == 1;
                if (added)
                {
                    c.Execute("INSERT OR IGNORE INTO conversations(conversation_id, message_count) VALUES($id, 0)", ("$id", message.ConversationId));
                    c.Execute(
                        """
                        UPDATE conversations SET message_count = message_count + 1,
                            last_offset_minutes = CASE WHEN last_sent_at_ticks IS NULL OR last_sent_at_ticks < $sent THEN $offset ELSE last_offset_minutes END,
                            last_sent_at_ticks = CASE WHEN last_sent_at_ticks IS NULL OR last_sent_at_ticks < $sent THEN $sent ELSE last_sent_at_ticks END
                        WHERE conversation_id = $id
                        """,
                        ("$id", message.ConversationId),
                        ("$sent", sentTicks),
                        ("$offset", sentOffset));
                }

                return added;
            },
            cancellationToken);
    }

    public ValueTask<bool> MarkDeliveredAsync(string messageId, DateTimeOffset deliveredAt, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messageId);
        var (ticks, offset) = SqliteCommands.ToColumns(deliveredAt);

        // A delivery mark does not wait for the disk (it sits in the chat's round trip, where a sync behind a file
        // being stored costs milliseconds): it survives the process and is synced with the next durable commit; a
        // power failure before that shows the message as not yet delivered, nothing else.
        return database.RunWithoutSyncAsync(
            c => c.Execute(
                "UPDATE messages SET delivered_at_ticks = $ticks, delivered_offset_minutes = $offset WHERE message_id = $id",
                ("$ticks", ticks),
                ("$offset", offset),
                ("$id", messageId)) == 1,
            cancellationToken);
    }

    public ValueTask<StoredMessage?> GetMessageAsync(string messageId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messageId);
        return database.RunAsync(
            c => ReadMessages(c, $"SELECT {MessageColumns} FROM messages WHERE message_id = $id", ("$id", messageId)).SingleOrDefault(),
            cancellationToken);
    }

    public async IAsyncEnumerable<StoredMessage> GetMessagesAsync(
        string conversationId,
        int limit,
        DateTimeOffset? before = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(conversationId);
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        var messages = await database.RunAsync(
            c => ReadMessages(
                c,
                $"""
                SELECT * FROM (
                    SELECT {MessageColumns}, seq FROM messages
                    WHERE conversation_id = $conversation AND ($before IS NULL OR sent_at_ticks < $before)
                    ORDER BY sent_at_ticks DESC, seq DESC LIMIT $limit)
                ORDER BY sent_at_ticks, seq
                """,
                ("$conversation", conversationId),
                ("$before", before?.UtcTicks),
                ("$limit", limit)),
            cancellationToken).ConfigureAwait(false);
        foreach (var message in messages)
        {
            yield return message;
        }
    }

    public async IAsyncEnumerable<ConversationSummary> GetConversationsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var conversations = await database.RunAsync(
            c =>
            {
                using var command = c.Command(
                    "SELECT conversation_id, message_count, last_sent_at_ticks, last_offset_minutes FROM conversations ORDER BY last_sent_at_ticks DESC, conversation_id");
                using var reader = command.ExecuteReader();
                var list = new List<ConversationSummary>();
                while (reader.Read())
                {
                    var last = reader.NullableInt64(2) is { } ticks ? SqliteCommands.FromColumns(ticks, reader.GetInt64(3)) : (DateTimeOffset?)null;
                    list.Add(new ConversationSummary(reader.GetString(0), reader.GetInt64(1), last));
                }

                return list;
            },
            cancellationToken).ConfigureAwait(false);
        foreach (var conversation in conversations)
        {
            yield return conversation;
        }
    }

    public ValueTask SaveTransferAsync(TransferRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        var (created, createdOffset) = SqliteCommands.ToColumns(record.CreatedAt);
        var (updated, updatedOffset) = SqliteCommands.ToColumns(record.UpdatedAt);
        var saved = database.RunAsync(
            c => c.Execute(
                $"""
                INSERT OR REPLACE INTO transfers({TransferColumns})
                VALUES($id, $conversation, $direction, $name, $size, $media, $chunk, $sha, $state, $verified, $file, $source, $message, $reason, $created, $createdOffset, $updated, $updatedOffset, $peer)
                """,
                ("$id", record.TransferId),
                ("$conversation", record.ConversationId),
                ("$direction", (int)record.Direction),
                ("$name", record.FileName),
                ("$size", record.Size),
                ("$media", record.MediaType),
                ("$chunk", record.ChunkSize),
                ("$sha", record.Sha256),
                ("$state", (int)record.State),
                ("$verified", record.VerifiedBytes),
                ("$file", record.FileId),
                ("$source", record.SourcePath),
                ("$message", record.ChatMessageId),
                ("$reason", record.Reason),
                ("$created", created),
                ("$createdOffset", createdOffset),
                ("$updated", updated),
                ("$updatedOffset", updatedOffset),
                ("$peer", record.PeerId)),
            cancellationToken);
        return Discard(saved);
    }

    public ValueTask<TransferRecord?> GetTransferAsync(string transferId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transferId);
        return database.RunAsync(
            c => ReadTransfers(c, $"SELECT {TransferColumns} FROM transfers WHERE transfer_id = $id", ("$id", transferId)).SingleOrDefault(),
            cancellationToken);
    }

    public async IAsyncEnumerable<TransferRecord> GetTransfersAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var transfers = await database.RunAsync(
            c => ReadTransfers(c, $"SELECT {TransferColumns} FROM transfers ORDER BY created_at_ticks DESC, transfer_id"),
            cancellationToken).ConfigureAwait(false);
        foreach (var transfer in transfers)
        {
            yield return transfer;
        }
    }

    public ValueTask<bool> DeleteTransferAsync(string transferId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transferId);
        return database.RunAsync(c => c.Execute("DELETE FROM transfers WHERE transfer_id = $id", ("$id", transferId)) == 1, cancellationToken);
    }

    private static async ValueTask Discard(ValueTask<int> pending) => await pending.ConfigureAwait(false);

    private static List<StoredMessage> ReadMessages(SqliteConnection connection, string sql, params (string, object?)[] parameters)
    {
        using var command = connection.Command(sql, parameters);
        using var reader = command.ExecuteReader();
        var list = new List<StoredMessage>();
        while (reader.Read())
        {
            list.Add(new StoredMessage
            {
                MessageId = reader.GetString(0),
                ConversationId = reader.GetString(1),
                Direction = (Direction)reader.GetInt32(2),
                SentAt = SqliteCommands.FromColumns(reader.GetInt64(3), reader.GetInt64(4)),
                Text = reader.GetString(5),
                DeliveredAt = reader.NullableInt64(6) is { } ticks ? SqliteCommands.FromColumns(ticks, reader.GetInt64(7)) : null,
                AttachmentTransferId = reader.NullableString(8),
            });
        }

        return list;
    }

    private static List<TransferRecord> ReadTransfers(SqliteConnection connection, string sql, params (string, object?)[] parameters)
    {
        using var command = connection.Command(sql, parameters);
        using var reader = command.ExecuteReader();
        var list = new List<TransferRecord>();
        while (reader.Read())
        {
            list.Add(new TransferRecord
            {
                TransferId = reader.GetString(0),
                ConversationId = reader.GetString(1),
                Direction = (Direction)reader.GetInt32(2),
                FileName = reader.GetString(3),
                Size = reader.GetInt64(4),
                MediaType = reader.GetString(5),
                ChunkSize = reader.GetInt32(6),
                Sha256 = (byte[])reader.GetValue(7),
                State = (TransferState)reader.GetInt32(8),
                VerifiedBytes = reader.GetInt64(9),
                FileId = reader.NullableString(10),
                SourcePath = reader.NullableString(11),
                ChatMessageId = reader.NullableString(12),
                Reason = reader.NullableString(13),
                CreatedAt = SqliteCommands.FromColumns(reader.GetInt64(14), reader.GetInt64(15)),
                UpdatedAt = SqliteCommands.FromColumns(reader.GetInt64(16), reader.GetInt64(17)),
                PeerId = reader.NullableString(18),
            });
        }

        return list;
    }
}
