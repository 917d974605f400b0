namespace Messenger.Contracts.Framing;

/// <summary>Which outbound lane a frame takes.</summary>
public enum FramePriority
{
    /// <summary>Chat and control frames: always sent before any bulk frame that is still queued.</summary>
    Interactive,

    /// <summary>Bulk data (file chunks): sent only while the channel's buffered amount is below its threshold.</summary>
    Bulk,
}
