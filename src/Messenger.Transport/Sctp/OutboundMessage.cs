namespace Messenger.Transport.Sctp;

/// <summary>
/// A user message waiting to be fragmented, or partly in flight. Recycled by its association once every chunk cut
/// from it has left the outstanding queue, so a long transfer allocates none.
/// </summary>
internal sealed class OutboundMessage
{
    public ushort StreamId { get; private set; }

    public uint PayloadProtocolId { get; private set; }

    public OutboundPayload Payload { get; private set; }

    public int Length => Payload.Length;

    public bool Unordered { get; private set; }

    public int MaxRetransmits { get; private set; }

    public TimeSpan Expiry { get; private set; }

    /// <summary>Bytes already cut into chunks.</summary>
    public int FragmentedBytes { get; set; }

    public ushort Ssn { get; set; }

    public uint FirstTsn { get; set; }

    public int ChunkCount { get; set; }

    /// <summary>Chunks of this message still in the outstanding queue (not yet passed by the cumulative ack).</summary>
    public int LiveChunks { get; set; }

    public bool Abandoned { get; set; }

    /// <summary>The payload went back to its owner; the message waits only for its last chunks to leave.</summary>
    public bool PayloadReleased { get; private set; }

    public bool IsPartiallyReliable => MaxRetransmits != int.MaxValue || Expiry != TimeSpan.MaxValue;

    /// <summary>Cut completely (or abandoned) and no chunk of it outstanding: nothing will read it again.</summary>
    public bool IsDone => (FragmentedBytes == Length || Abandoned) && LiveChunks == 0;

    public OutboundMessage Init(ushort streamId, uint ppid, OutboundPayload payload, SctpSendOptions options, TimeSpan expiry)
    {
        StreamId = streamId;
        PayloadProtocolId = ppid;
        Payload = payload;
        Unordered = options.Unordered;
        MaxRetransmits = options.MaxRetransmits ?? int.MaxValue;
        Expiry = expiry;
        FragmentedBytes = 0;
        Ssn = 0;
        FirstTsn = 0;
        ChunkCount = 0;
        LiveChunks = 0;
        Abandoned = false;
        PayloadReleased = false;
        return this;
    }

    /// <summary>Hands the payload back once no retransmission can need it (acknowledged, abandoned or dropped).</summary>
    public void ReleasePayload()
    {
        if (!PayloadReleased)
        {
            PayloadReleased = true;
            Payload.Release();
        }
    }
}

/// <summary>One DATA chunk we assigned a TSN to, kept until the peer's cumulative ack passes it; recycled after.</summary>
internal sealed class OutboundChunk
{
    public uint Tsn;
    public OutboundMessage Message = null!;
    public int Offset;
    public int Length;
    public byte Flags;
    public TimeSpan SentAt;
    public int TransmitCount;
    public int MissReports;
    public bool GapAcked;
    public bool InFlight;
    public bool MarkedForRetransmit;
    public bool Abandoned;

    public OutboundChunk Init(uint tsn, OutboundMessage message, int offset, int length, byte flags)
    {
        Tsn = tsn;
        Message = message;
        Offset = offset;
        Length = length;
        Flags = flags;
        SentAt = default;
        TransmitCount = 0;
        MissReports = 0;
        GapAcked = false;
        InFlight = false;
        MarkedForRetransmit = false;
        Abandoned = false;
        return this;
    }
}
