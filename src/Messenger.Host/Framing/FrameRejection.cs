namespace Messenger.Host.Framing;

/// <summary>Why a received message was dropped instead of handled.</summary>
/// <param name="Reason">The rejection's kind.</param>
/// <param name="Kind">The frame kind when it could be read, else null.</param>
/// <param name="Message">A sentence for logs.</param>
public sealed record FrameRejection(FrameRejectionReason Reason, int? Kind, string Message);

/// <summary>The kinds of rejection.</summary>
public enum FrameRejectionReason
{
    /// <summary>Not a well-formed frame (truncated, oversized, wrong types), or a body its handler found malformed.</summary>
    Malformed,

    /// <summary>A kind no handler owns.</summary>
    UnknownKind,

    /// <summary>The handler failed unexpectedly.</summary>
    HandlerFailed,
}
