using System.Runtime.CompilerServices;
using Messenger.Contracts.Storage;

namespace Messenger.Plugins.Storage.Sqlite;

/// <summary>The profile's named records in the <c>profile_records</c> table of <see cref="MessageSchema"/>.</summary>
internal sealed class SqliteProfileStore(SqliteDatabase database) : IProfileStore
{
    public ValueTask<byte[]?> GetRecordAsync(string key, CancellationToken cancellationToken = default)
    {
        CheckKey(key);
        return database.RunAsync(c => AsBytes(key, c.Scalar("SELECT value FROM profile_records WHERE record_key = $key", ("$key", key))), cancellationToken);
    }

    public async ValueTask SetRecordAsync(string key, ReadOnlyMemory<byte> value, CancellationToken cancellationToken = default)
    {
        CheckKey(key);
        if (value.Length > IProfileStore.MaxValueLength)
        {
            throw new ArgumentException($"A profile record holds at most {IProfileStore.MaxValueLength} bytes; this one has {value.Length}.", nameof(value));
        }

        var bytes = value.ToArray();
        await database.RunAsync(
            c => c.Execute("INSERT OR REPLACE INTO profile_records(record_key, value) VALUES($key, $value)", ("$key", key), ("$value", bytes)),
            cancellationToken).ConfigureAwait(false);
    }

    public ValueTask<bool> DeleteRecordAsync(string key, CancellationToken cancellationToken = default)
    {
        CheckKey(key);
        return database.RunAsync(c => c.Execute("DELETE FROM profile_records WHERE record_key = $key", ("$key", key)) == 1, cancellationToken);
    }

    public async IAsyncEnumerable<KeyValuePair<string, byte[]>> ListRecordsAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);

        // A range on the primary key, not LIKE: a prefix may hold '%' or '_'. Keys compare by their UTF-8 bytes (BINARY).
        var records = await database.RunAsync(
            c =>
            {
                using var command = c.Command(
                    "SELECT record_key, value FROM profile_records WHERE record_key >= $prefix ORDER BY record_key",
                    ("$prefix", prefix));
                using var reader = command.ExecuteReader();
                var list = new List<KeyValuePair<string, byte[]>>();
                while (reader.Read())
                {
                    var key = reader.GetString(0);
                    if (!key.StartsWith(prefix, StringComparison.Ordinal))
                    {
                        break;
                    }

                    list.Add(new(key, AsBytes(key, reader.GetValue(1))!));
                }

                return list;
            },
            cancellationToken).ConfigureAwait(false);
        foreach (var record in records)
        {
            yield return record;
        }
    }

    /// <summary>A value that is not a BLOB was not written here: an error, never read as "absent" (which could replace it).</summary>
    private static byte[]? AsBytes(string key, object? value) => value switch
    {
        null or DBNull => null,
        byte[] bytes => bytes,
        _ => throw new StorageException($"The profile record '{key}' holds a {value.GetType().Name}, not bytes: the store was changed outside Messenger. It was left as it is."),
    };

    private static void CheckKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length is 0 or > IProfileStore.MaxKeyLength || key.Any(char.IsControl))
        {
            throw new ArgumentException($"A profile record's key has 1 to {IProfileStore.MaxKeyLength} printable characters.", nameof(key));
        }
    }
}
