using System.Collections.Concurrent;
using System.Text;
using MessagePack;
using Messenger.Contracts;
using Messenger.Contracts.Chat;
using Messenger.Contracts.Framing;
using Messenger.Contracts.Storage;
using Messenger.Host.Framing;
using Messenger.Host.Sessions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Messenger.Host.Chat;

/// <summary>
/// The host's text chat: sends <see cref="ChatMessageFrame"/>s, acknowledges received ones with
/// <see cref="ChatAckFrame"/>s, and keeps both sides in the message store when one is loaded.
/// </summary>
public sealed partial class ChatService : IChatService, IFrameHandler, IPeerSessionObserver
{
    /// <summary>The longest message id accepted from the peer.</summary>
    public const int MaxIdLength = 64;

    private static readonly FrameKind[] OwnedKinds = [HostFrameKinds.ChatMessage, HostFrameKinds.ChatAck, HostFrameKinds.ChatRefused];

    private readonly TimeProvider _time;
    private readonly Lazy<IMessageStore?> _store;
    private readonly ILogger<ChatService> _logger;
    private readonly EventFanout<ChatEvent> _events = new();
    private readonly ConcurrentDictionary<string, long> _awaitingAck = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ChatAllowance> _allowances = new(StringComparer.Ordinal);
    private readonly ChatLimits _limits;
    private IPeerSession? _session;

    /// <summary>Creates the chat service.</summary>
    /// <param name="time">The clock.</param>
    /// <param name="services">Where the message store comes from, when a storage plugin is loaded (the last one registered wins).</param>
    /// <param name="logger">Logging.</param>
    /// <param name="limits">What a peer may put into the chat, or null for the defaults.</param>
    public ChatService(TimeProvider time, IServiceProvider services, ILogger<ChatService> logger, Microsoft.Extensions.Options.IOptions<ChatLimits>? limits = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        _time = time;
        _limits = limits?.Value ?? new ChatLimits();

        // Opened on first use, not at start-up: listing plugins or a wrong passphrase must not need the store open.
        _store = new Lazy<IMessageStore?>(() => services.GetServices<IMessageStore>().LastOrDefault());
        _logger = logger;
    }

    /// <inheritdoc />
    public event EventHandler<ChatEvent>? ChatChanged;

    /// <inheritdoc />
    public int MaxTextBytes => 32 * 1024;

    /// <inheritdoc />
    public string Name => "Host.Chat";

    /// <inheritdoc />
    public IReadOnlyCollection<FrameKind> Kinds => OwnedKinds;

    /// <inheritdoc />
    public async ValueTask<ChatMessage> SendAsync(string text, string? attachmentTransferId = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0 && attachmentTransferId is null)
        {
            throw new ArgumentException("A chat message needs text or an attachment.", nameof(text));
        }

        var bytes = Encoding.UTF8.GetByteCount(text);
        if (bytes > MaxTextBytes)
        {
            throw new ArgumentException($"A chat message is at most {MaxTextBytes} UTF-8 bytes; this one is {bytes}.", nameof(text));
        }

        // A session that has ended but whose end the host has not yet reported counts as none, so the message is
        // refused with the same advice instead of reaching the stopped scheduler.
        var session = Volatile.Read(ref _session);
        if (session is null || session.Ended.IsCancellationRequested)
        {
            throw new InvalidOperationException("No session with the peer is open: connect first.");
        }
        var now = _time.GetUtcNow();
        var message = new ChatMessage(Guid.CreateVersion7(now).ToString("n"), Direction.Outgoing, now, text, attachmentTransferId);
        if (_store.Value is { } store)
        {
            await store.AddMessageAsync(ToStored(message, session.PeerId), cancellationToken).ConfigureAwait(false);
        }

        var frame = new ChatMessageFrame
        {
            Id = message.MessageId,
            SentAtUnixMilliseconds = now.ToUnixTimeMilliseconds(),
            Text = text,
            AttachmentTransferId = attachmentTransferId,
        };
        _awaitingAck[message.MessageId] = _time.GetTimestamp();
        await session.SendAsync(HostFrameKinds.ChatMessage, MessagePackSerializer.Serialize(frame, UntrustedMessagePack.Options, cancellationToken), cancellationToken)
            .ConfigureAwait(false);
        return message;
    }

    /// <inheritdoc />
    public IAsyncEnumerable<ChatEvent> WatchAsync(CancellationToken cancellationToken = default) => _events.WatchAsync(cancellationToken);

    /// <inheritdoc />
    public ValueTask HandleFrameAsync(IPeerSession session, FrameKind kind, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        if (kind == HostFrameKinds.ChatMessage)
        {
            return OnMessageAsync(session, Deserialize<ChatMessageFrame>(body), cancellationToken);
        }

        return kind == HostFrameKinds.ChatAck
            ? OnAckAsync(Deserialize<ChatAckFrame>(body), cancellationToken)
            : OnRefusedAsync(Deserialize<ChatRefusedFrame>(body));
    }

    /// <inheritdoc />
    public ValueTask OnSessionStartedAsync(IPeerSession session, CancellationToken cancellationToken)
    {
        Volatile.Write(ref _session, session);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask OnSessionEndedAsync(IPeerSession session)
    {
        Interlocked.CompareExchange(ref _session, null, session);
        _allowances.TryRemove(session.SessionId, out _);
        return ValueTask.CompletedTask;
    }

    private static T Deserialize<T>(ReadOnlyMemory<byte> body)
    {
        try
        {
            return MessagePackSerializer.Deserialize<T>(body, UntrustedMessagePack.Options);
        }
        catch (MessagePackSerializationException ex)
        {
            throw new FrameFormatException($"not a valid {typeof(T).Name}: {ex.Message}", ex);
        }
    }

    private static StoredMessage ToStored(ChatMessage message, string conversationId) => new()
    {
        MessageId = message.MessageId,
        ConversationId = conversationId,
        Direction = message.Direction,
        SentAt = message.SentAt,
        Text = message.Text,
        AttachmentTransferId = message.AttachmentTransferId,
    };

    private static void CheckId(string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > MaxIdLength)
        {
            throw new FrameFormatException($"a chat message id must have 1 to {MaxIdLength} characters");
        }
    }

    private async ValueTask OnMessageAsync(IPeerSession session, ChatMessageFrame frame, CancellationToken cancellationToken)
    {
        CheckId(frame.Id);
        if (frame.Text is null || Encoding.UTF8.GetByteCount(frame.Text) > MaxTextBytes)
        {
            throw new FrameFormatException($"a chat message text must be at most {MaxTextBytes} UTF-8 bytes");
        }

        if (frame.Text.Length == 0 && frame.AttachmentTransferId is null)
        {
            throw new FrameFormatException("a chat message needs text or an attachment");
        }

        if (frame.AttachmentTransferId is { Length: > MaxIdLength })
        {
            throw new FrameFormatException($"an attachment id must be at most {MaxIdLength} characters");
        }

        DateTimeOffset sentAt;
        try
        {
            sentAt = DateTimeOffset.FromUnixTimeMilliseconds(frame.SentAtUnixMilliseconds);
        }
        catch (ArgumentOutOfRangeException ex)
        {
            throw new FrameFormatException("the chat message timestamp is out of range", ex);
        }

        // Over a limit: refused, not stored, and the peer is told; past the hard bound the session ends.
        var allowance = _allowances.GetOrAdd(session.SessionId, _ => new ChatAllowance(_limits, _time));
        if (allowance.TryTake() is { } refusal)
        {
            if (allowance.Refused > _limits.MaxRefusedPerSession)
            {
                await session.CloseAsync($"the peer sent chat faster than this side accepts: {allowance.Refused - 1} messages refused").ConfigureAwait(false);
                return;
            }

            var refused = MessagePackSerializer.Serialize(new ChatRefusedFrame { Id = frame.Id, Reason = refusal }, UntrustedMessagePack.Options, cancellationToken);
            await session.SendAsync(HostFrameKinds.ChatRefused, refused, cancellationToken).ConfigureAwait(false);
            return;
        }

        var message = new ChatMessage(frame.Id, Direction.Incoming, sentAt, frame.Text, frame.AttachmentTransferId);
        var isNew = _store.Value is not { } store || await store.AddMessageAsync(ToStored(message, session.PeerId), cancellationToken).ConfigureAwait(false);

        // Acknowledge after storing, so an ack means the message is kept; a re-sent duplicate is acked again, shown once.
        var ack = MessagePackSerializer.Serialize(new ChatAckFrame { Id = frame.Id }, UntrustedMessagePack.Options, cancellationToken);
        await session.SendAsync(HostFrameKinds.ChatAck, ack, cancellationToken).ConfigureAwait(false);
        if (isNew)
        {
            Publish(new ChatMessageReceived(message));
        }
    }

    private async ValueTask OnAckAsync(ChatAckFrame frame, CancellationToken cancellationToken)
    {
        CheckId(frame.Id);
        if (!_awaitingAck.TryRemove(frame.Id, out var sentTimestamp))
        {
            LogUnexpectedAck(frame.Id);
            return;
        }

        var now = _time.GetUtcNow();
        if (_store.Value is { } store)
        {
            await store.MarkDeliveredAsync(frame.Id, now, cancellationToken).ConfigureAwait(false);
        }

        Publish(new ChatMessageDelivered(frame.Id, now, _time.GetElapsedTime(sentTimestamp)));
    }

    private ValueTask OnRefusedAsync(ChatRefusedFrame frame)
    {
        CheckId(frame.Id);
        if (!_awaitingAck.TryRemove(frame.Id, out _))
        {
            LogUnexpectedAck(frame.Id);
            return ValueTask.CompletedTask;
        }

        var reason = frame.Reason ?? "";
        Publish(new ChatMessageRefused(frame.Id, reason.Length > 500 ? reason[..500] : reason));
        return ValueTask.CompletedTask;
    }

    private void Publish(ChatEvent chatEvent)
    {
        _events.Publish(chatEvent);
        ChatChanged?.Invoke(this, chatEvent);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Ignored an acknowledgement for unknown or already acknowledged message {MessageId}")]
    private partial void LogUnexpectedAck(string messageId);
}
