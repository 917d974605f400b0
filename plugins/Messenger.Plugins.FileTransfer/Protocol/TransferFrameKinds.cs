using Messenger.Contracts.Framing;

namespace Messenger.Plugins.FileTransfer.Protocol;

/// <summary>The frame kinds the file-transfer plugin owns (100–149; append-only, never reused).</summary>
public static class TransferFrameKinds
{
    /// <summary>Sender → receiver: a file is offered (<see cref="OfferFrame"/>), also re-sent to resume.</summary>
    public static readonly FrameKind Offer = new(100);

    /// <summary>Receiver → sender: send from an offset (<see cref="AcceptFrame"/>).</summary>
    public static readonly FrameKind Accept = new(101);

    /// <summary>Receiver → sender: the offer is declined (<see cref="RejectFrame"/>).</summary>
    public static readonly FrameKind Reject = new(102);

    /// <summary>Sender → receiver, bulk: one chunk of the file (<see cref="ChunkFrame"/>).</summary>
    public static readonly FrameKind Chunk = new(103);

    /// <summary>Receiver → sender: the durable, verified prefix (<see cref="AckFrame"/>).</summary>
    public static readonly FrameKind Ack = new(104);

    /// <summary>Sender → receiver, bulk (after the last chunk): every byte was sent (<see cref="EndFrame"/>).</summary>
    public static readonly FrameKind End = new(105);

    /// <summary>Receiver → sender: the whole-file check passed or failed (<see cref="VerifyFrame"/>).</summary>
    public static readonly FrameKind Verify = new(106);

    /// <summary>Either side: the user cancelled (<see cref="CancelFrame"/>).</summary>
    public static readonly FrameKind Cancel = new(107);

    /// <summary>Either side: the transfer failed on this side, for example a storage error (<see cref="FailFrame"/>).</summary>
    public static readonly FrameKind Fail = new(108);

    /// <summary>Every kind above.</summary>
    public static readonly IReadOnlyCollection<FrameKind> All = [Offer, Accept, Reject, Chunk, Ack, End, Verify, Cancel, Fail];
}
