namespace Messenger.Transport.Sctp;

/// <summary>A user message waiting to be fragmented, or partly in flight.</summary>
internal sealed class OutboundMessage(ushort streamId, uint ppid, byte[] data, SctpSendOptions options, TimeSpan expiry)
{
    public ushort StreamId { get; } = streamId;

    public uint PayloadProtocolId { get; } = ppid;

    public byte[] Data { get; } = data;

    public bool Unordered { get; } = options.Unordered;

    public int MaxRetransmits { get; } = options.MaxRetransmits ?? int.MaxValue;

    public TimeSpan Expiry { get; } = expiry;

    /// <summary>Bytes already cut into chunks.</summary>
    public int FragmentedBytes { get; set; }

    public ushort Ssn { get; set; }

    public uint FirstTsn { get; set; }

    public int ChunkCount { get; set; }

    public bool Abandoned { get; set; }

    public bool IsPartiallyReliable => MaxRetransmits != int.MaxValue || Expiry != TimeSpan.MaxValue;
}

/// <summary>One DATA chunk we assigned a TSN to, kept until the peer's cumulative ack passes it.</summary>
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
}
