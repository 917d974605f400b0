namespace Messenger.Contracts.Storage;

/// <summary>
/// Small named records of the profile, kept in the store beside the history and protected like it (encrypted at rest
/// where the store encrypts): the profile's own long-lived identity and the contacts it pinned. Keys are short
/// printable names (a store may refuse keys over 256 characters and values over 64 KiB with an
/// <see cref="ArgumentException"/>); values are opaque bytes. Implementations are thread-safe; a completed write is
/// durable. Since contracts 1.4; a host whose store offers none keeps no identity across runs and pins no contacts.
/// </summary>
public interface IProfileStore
{
    /// <summary>The largest key, in characters.</summary>
    const int MaxKeyLength = 256;

    /// <summary>The largest value, in bytes.</summary>
    const int MaxValueLength = 64 * 1024;

    /// <summary>Reads one record.</summary>
    /// <param name="key">The record's name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Its value, or null when there is none.</returns>
    ValueTask<byte[]?> GetRecordAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Writes one record, replacing any with the same key.</summary>
    /// <param name="key">The record's name.</param>
    /// <param name="value">Its value.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the record is durable.</returns>
    ValueTask SetRecordAsync(string key, ReadOnlyMemory<byte> value, CancellationToken cancellationToken = default);

    /// <summary>Deletes one record.</summary>
    /// <param name="key">The record's name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>False when there was none.</returns>
    ValueTask<bool> DeleteRecordAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Every record whose key starts with <paramref name="prefix"/>, in key order.</summary>
    /// <param name="prefix">The start of the keys wanted ("" for all).</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The keys and values.</returns>
    IAsyncEnumerable<KeyValuePair<string, byte[]>> ListRecordsAsync(string prefix, CancellationToken cancellationToken = default);
}
