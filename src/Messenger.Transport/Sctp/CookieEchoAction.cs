namespace Messenger.Transport.Sctp;

/// <summary>The rows of the RFC 9260 §5.2.4 table: what a valid COOKIE-ECHO does to an existing association.</summary>
internal enum CookieEchoAction
{
    /// <summary>Tags outside the table: silently discard.</summary>
    Discard,

    /// <summary>Case A: both tags new, tie-tags match; the peer restarted.</summary>
    Restart,

    /// <summary>Case B: our tag matches, the peer's is new or unknown; an INIT collision.</summary>
    Collision,

    /// <summary>Case C: only the peer's tag matches and there are no tie-tags; a cookie that arrived late.</summary>
    LateCookie,

    /// <summary>Case D: both tags match; a duplicate of the cookie that built this association.</summary>
    Duplicate,
}
