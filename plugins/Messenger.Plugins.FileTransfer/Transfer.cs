using Messenger.Contracts.FileTransfer;
using Messenger.Contracts.Framing;
using Messenger.Contracts.Previews;
using Messenger.Contracts.Storage;

namespace Messenger.Plugins.FileTransfer;

/// <summary>
/// One transfer's live state. <see cref="Gate"/> serialises everything that touches the writer, the send run or the
/// state; the state itself is read without the gate only for snapshots.
/// </summary>
internal sealed class Transfer
{
    public required string Id { get; init; }

    public required Direction Direction { get; init; }

    /// <summary>The peer the transfer belongs to; null for a record from before peers were recorded (never resumed).</summary>
    public required string? PeerId { get; init; }

    /// <summary>The conversation the record is filed under (the peer's id for every transfer recorded with one).</summary>
    public required string ConversationId { get; init; }

    public required string FileName { get; init; }

    public required long Size { get; init; }

    public required string MediaType { get; init; }

    public required int ChunkSize { get; init; }

    /// <summary>The whole file's SHA-256 as offered, or empty when the sender streams it (it comes with End).</summary>
    public required byte[] Sha256 { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public required ProgressMeter Meter { get; init; }

    public Preview? Preview { get; init; }

    public string? Caption { get; init; }

    public string? ChatMessageId { get; init; }

    public string? SourcePath { get; init; }

    public string? FileId { get; set; }

    public SemaphoreSlim Gate { get; } = new(1, 1);

    public volatile TransferState State;

    public string? Reason { get; set; }

    /// <summary>Sender: bytes handed to the channel. Receiver: bytes verified by CRC and written.</summary>
    public long Bytes;

    /// <summary>Receiver: bytes flushed and acked. Sender: bytes the receiver acked.</summary>
    public long VerifiedBytes { get; set; }

    /// <summary>Receiver: the current run's protocol state (which chunk is due, resend requests); null before a run.</summary>
    public ReceivingMachine? Receiving { get; set; }

    /// <summary>Sender: the protocol state (runs, acknowledged bytes, the verdict); made on first use.</summary>
    public SendingMachine Sending => _sending ??= new SendingMachine(Size, ChunkSize, VerifiedBytes);

    private SendingMachine? _sending;

    /// <summary>A final notice (cancel, fail) that could not reach the peer yet; sent when the next session starts.</summary>
    public (FrameKind Kind, byte[] Body)? PendingNotice { get; set; }

    public IStoredFileWriter? Writer { get; set; }

    /// <summary>Receiver: the writer task storing this run's chunks; null when none runs.</summary>
    public IncomingWriter? Incoming { get; set; }

    /// <summary>Sender: the receiver's window for the current run.</summary>
    public SendWindow Window { get; } = new();

    public IPeerSession? Session { get; set; }

    public CancellationTokenSource? RunCancellation { get; set; }

    public Task Run { get; set; } = Task.CompletedTask;

    /// <summary>Chunk frames this peer sent for the transfer, across sessions (tests count re-sends with it).</summary>
    public long ChunksSent;

    /// <summary>1 while <c>ResendAsync</c> offers this transfer's file anew, so two resends make one new transfer.</summary>
    public int Resending;

    public bool IsFinal => State is TransferState.Completed or TransferState.Failed or TransferState.Cancelled or TransferState.Rejected;

    public TransferInfo Snapshot() => new()
    {
        TransferId = Id,
        Direction = Direction,
        PeerId = PeerId,
        FileName = FileName,
        Size = Size,
        MediaType = MediaType,
        State = State,
        BytesTransferred = Interlocked.Read(ref Bytes),
        Preview = Preview,
        Caption = Caption,
        ChatMessageId = ChatMessageId,
        FileId = FileId,
        Reason = Reason,
    };

    /// <summary>True when the transfer belongs to the peer of <paramref name="session"/>.</summary>
    public bool BelongsTo(IPeerSession session) => PeerId is { } peer && string.Equals(peer, session.PeerId, StringComparison.Ordinal);

    public TransferRecord ToRecord(DateTimeOffset now) => new()
    {
        TransferId = Id,
        ConversationId = ConversationId,
        PeerId = PeerId,
        Direction = Direction,
        FileName = FileName,
        Size = Size,
        MediaType = MediaType,
        ChunkSize = ChunkSize,
        Sha256 = Sha256,
        State = State,
        VerifiedBytes = VerifiedBytes,
        FileId = FileId,
        SourcePath = SourcePath,
        ChatMessageId = ChatMessageId,
        Reason = Reason,
        CreatedAt = CreatedAt,
        UpdatedAt = now,
    };
}
