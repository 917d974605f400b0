using MessagePack;
using Messenger.Contracts.Chat;
using Messenger.Contracts.Framing;
using Microsoft.Extensions.Logging;

namespace Messenger.Plugins.ReadReceipts;

/// <summary>The body of a read-receipt frame.</summary>
[MessagePackObject]
public sealed class ReadReceiptFrame
{
    /// <summary>The message that was read.</summary>
    [Key(0)]
    public string MessageId { get; set; } = "";

    /// <summary>When it was shown to the reader, Unix milliseconds by the reader's clock.</summary>
    [Key(1)]
    public long ReadAtUnixMilliseconds { get; set; }
}

/// <summary>Sends a receipt for every chat message received and logs the receipts the peer sends.</summary>
public sealed partial class ReadReceiptHandler : IFrameHandler, IPeerSessionObserver
{
    /// <summary>The frame kind this plugin owns.</summary>
    public static readonly FrameKind ReadReceipt = new(200);

    private static readonly MessagePackSerializerOptions Untrusted = MessagePackSerializerOptions.Standard.WithSecurity(MessagePackSecurity.UntrustedData);
    private readonly IChatService _chat;
    private readonly ReadReceiptOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ReadReceiptHandler> _logger;
    private IPeerSession? _session;

    /// <summary>Creates the handler.</summary>
    /// <param name="chat">The host's chat, watched for received messages.</param>
    /// <param name="options">The plugin's settings.</param>
    /// <param name="time">The clock.</param>
    /// <param name="logger">Where receipts are reported.</param>
    public ReadReceiptHandler(IChatService chat, ReadReceiptOptions options, TimeProvider time, ILogger<ReadReceiptHandler> logger)
    {
        ArgumentNullException.ThrowIfNull(chat);
        _chat = chat;
        _options = options;
        _time = time;
        _logger = logger;
        _chat.ChatChanged += OnChatChanged;
    }

    /// <inheritdoc />
    public string Name => "ReadReceipts";

    /// <inheritdoc />
    public IReadOnlyCollection<FrameKind> Kinds { get; } = [ReadReceipt];

    /// <inheritdoc />
    public ValueTask HandleFrameAsync(IPeerSession session, FrameKind kind, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        ReadReceiptFrame receipt;
        try
        {
            receipt = MessagePackSerializer.Deserialize<ReadReceiptFrame>(body, Untrusted, cancellationToken);
        }
        catch (MessagePackSerializationException ex)
        {
            throw new FrameFormatException($"not a read receipt: {ex.Message}", ex);
        }

        if (string.IsNullOrEmpty(receipt.MessageId) || receipt.MessageId.Length > 64)
        {
            throw new FrameFormatException("a read receipt needs a message id of 1 to 64 characters");
        }

        LogRead(receipt.MessageId, DateTimeOffset.FromUnixTimeMilliseconds(Math.Clamp(receipt.ReadAtUnixMilliseconds, 0, 253_402_300_799_999)));
        return ValueTask.CompletedTask;
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
        return ValueTask.CompletedTask;
    }

    private async void OnChatChanged(object? sender, ChatEvent chatEvent)
    {
        if (!_options.SendReceipts || chatEvent is not ChatMessageReceived received || Volatile.Read(ref _session) is not { } session)
        {
            return;
        }

        var body = MessagePackSerializer.Serialize(new ReadReceiptFrame
        {
            MessageId = received.Message.MessageId,
            ReadAtUnixMilliseconds = _time.GetUtcNow().ToUnixTimeMilliseconds(),
        });
        try
        {
            await session.SendAsync(ReadReceipt, body, session.Ended).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or InvalidOperationException)
        {
            // The session ended before the receipt went out: a receipt is best effort.
            LogNotSent(received.Message.MessageId, ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Message {MessageId} was read by the peer at {ReadAt:O}")]
    private partial void LogRead(string messageId, DateTimeOffset readAt);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Read receipt for {MessageId} not sent: {Reason}")]
    private partial void LogNotSent(string messageId, string reason);
}
