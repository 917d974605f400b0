namespace Messenger.Host.Chat;

/// <summary>
/// What one peer may put into the chat. Over a limit a message is refused with a <see cref="ChatRefusedFrame"/> and
/// not stored; past <see cref="MaxRefusedPerSession"/> refusals the session is closed, with the reason told to the
/// peer. Chat of a person (even a fast typist pasting lines) stays far inside every one of these.
/// </summary>
public sealed class ChatLimits
{
    /// <summary>Messages per second a peer may send, sustained (a token bucket refilled at this rate).</summary>
    public double MessagesPerSecond { get; set; } = 20;

    /// <summary>Messages a peer may send at once before the rate applies (the bucket's size).</summary>
    public int MessageBurst { get; set; } = 100;

    /// <summary>Messages stored from a peer in one conversation per hour (a fixed window from the first of them).</summary>
    public int MaxStoredPerConversationPerHour { get; set; } = 5000;

    /// <summary>Refused messages after which the session is closed.</summary>
    public int MaxRefusedPerSession { get; set; } = 1000;
}

/// <summary>One session's chat allowance: a token bucket for the rate and a fixed hourly window for what is stored.</summary>
internal sealed class ChatAllowance(ChatLimits limits, TimeProvider time)
{
    private static readonly TimeSpan Window = TimeSpan.FromHours(1);
    private double _tokens = limits.MessageBurst;
    private long _refilledAt = time.GetTimestamp();
    private long _windowStart = time.GetTimestamp();
    private int _storedInWindow;

    /// <summary>Messages refused in this session.</summary>
    public int Refused { get; private set; }

    /// <summary>Null when one more message may be stored now (and counts it), else why not.</summary>
    public string? TryTake()
    {
        var now = time.GetTimestamp();
        _tokens = Math.Min(limits.MessageBurst, _tokens + (time.GetElapsedTime(_refilledAt, now).TotalSeconds * limits.MessagesPerSecond));
        _refilledAt = now;
        if (time.GetElapsedTime(_windowStart, now) >= Window)
        {
            _windowStart = now;
            _storedInWindow = 0;
        }

        string? refusal = null;
        if (_tokens < 1)
        {
            refusal = $"more than {limits.MessagesPerSecond:0.#} messages per second; send it again in a moment";
        }
        else if (_storedInWindow >= limits.MaxStoredPerConversationPerHour)
        {
            refusal = $"more than {limits.MaxStoredPerConversationPerHour} messages in an hour; send it again later";
        }

        if (refusal is not null)
        {
            Refused++;
            return refusal;
        }

        _tokens -= 1;
        _storedInWindow++;
        return null;
    }
}
