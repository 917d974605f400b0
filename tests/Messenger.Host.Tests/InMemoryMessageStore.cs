using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Messenger.Contracts.Storage;

namespace Messenger.Host.Tests;

/// <summary>A minimal message store so chat tests can see what the host stores.</summary>
internal sealed class InMemoryMessageStore : IMessageStore
{
    private readonly ConcurrentDictionary<string, StoredMessage> _messages = new(StringComparer.Ordinal);

    public IReadOnlyCollection<StoredMessage> Messages => [.. _messages.Values];

    public ValueTask<bool> AddMessageAsync(StoredMessage message, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(_messages.TryAdd(message.MessageId, message));

    public ValueTask<bool> MarkDeliveredAsync(string messageId, DateTimeOffset deliveredAt, CancellationToken cancellationToken = default)
    {
        while (_messages.TryGetValue(messageId, out var current))
        {
            if (_messages.TryUpdate(messageId, current with { DeliveredAt = deliveredAt }, current))
            {
                return ValueTask.FromResult(true);
            }
        }

        return ValueTask.FromResult(false);
    }

    public ValueTask<StoredMessage?> GetMessageAsync(string messageId, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(_messages.GetValueOrDefault(messageId));

    public async IAsyncEnumerable<StoredMessage> GetMessagesAsync(string conversationId, int limit, DateTimeOffset? before = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        foreach (var message in _messages.Values.Where(m => m.ConversationId == conversationId && (before is null || m.SentAt < before)).OrderBy(m => m.SentAt).TakeLast(limit))
        {
            yield return message;
        }
    }

    public IAsyncEnumerable<ConversationSummary> GetConversationsAsync(CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public ValueTask SaveTransferAsync(TransferRecord record, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public ValueTask<TransferRecord?> GetTransferAsync(string transferId, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public IAsyncEnumerable<TransferRecord> GetTransfersAsync(CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public ValueTask<bool> DeleteTransferAsync(string transferId, CancellationToken cancellationToken = default) => throw new NotSupportedException();
}
