using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Messenger.Plugins.FileTransfer;

/// <summary>The file-transfer plugin's settings (<c>plugins.json</c> settings, or <c>AddFileTransfer(o => …)</c>).</summary>
public sealed class FileTransferOptions
{
    /// <summary>Payload bytes per chunk (default 16 KiB); capped by the session's frame size.</summary>
    public int ChunkSize { get; set; } = 16 * 1024;

    /// <summary>
    /// On a link whose rate the session has measured, a new transfer's chunk is at most this many milliseconds of it
    /// (default 4; never below 4 KiB, never above <see cref="ChunkSize"/>): a chat frame waits behind the rest of the
    /// chunk being sent, 13 ms for 16 KiB at 10 Mbit/s. 0 keeps <see cref="ChunkSize"/> on any link.
    /// </summary>
    public int ChunkMilliseconds { get; set; } = 4;

    /// <summary>Incoming offers up to this size are accepted without asking; null accepts nothing automatically.</summary>
    public long? AutoAcceptMaxBytes { get; set; }

    /// <summary>The receiver flushes the store and acks after this many bytes (a flush costs fsyncs, so not every chunk).</summary>
    public long AckIntervalBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>
    /// The receiver's window per transfer: the sender keeps at most this many bytes beyond what the receiver has written,
    /// so a slow disk queues in that transfer's own writer and never in the data channel that chat shares.
    /// Memory per incoming transfer is at most about this much.
    /// </summary>
    public long ReceiveWindowBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>Chunks the sender reads ahead of the channel; memory per transfer is about this times the chunk size.</summary>
    public int ReadAheadChunks { get; set; } = 4;

    /// <summary>The largest thumbnail accepted in (and put into) an offer.</summary>
    public int MaxPreviewBytes { get; set; } = 64 * 1024;

    /// <summary>The largest file accepted from the peer.</summary>
    public long MaxIncomingFileBytes { get; set; } = 1L << 40;

    /// <summary>
    /// The most unfinished incoming transfers (offered, running or paused) one peer may have here; an offer past it is
    /// rejected with the reason. Bounds what a peer's flood of offers costs in memory and in the store.
    /// </summary>
    public int MaxOpenIncomingTransfers { get; set; } = 64;

    /// <summary>
    /// Space kept free on the store's disk: an offer is rejected when what it and every unfinished incoming transfer
    /// still need would leave less than this (when the store can tell its free space).
    /// </summary>
    public long MinFreeDiskBytes { get; set; } = 64L << 20;

    /// <summary>Rejected offers from one peer in one session after which the session is closed with the reason.</summary>
    public int MaxRefusedOffersPerSession { get; set; } = 1000;

    /// <summary>
    /// How often a receiver asks the sender to resend from a missing chunk before failing the transfer. A real data
    /// channel never loses frames; a lossy test link does.
    /// </summary>
    public int MaxGapRequests { get; set; } = 16;

    /// <summary>Keep a cancelled incoming file's verified prefix so a new offer of the same transfer can resume.</summary>
    public bool KeepPartialOnCancel { get; set; }

    /// <summary>The shortest time between two progress events of one transfer.</summary>
    public TimeSpan ProgressInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Reads the plugin's <c>settings</c> section.</summary>
    /// <param name="settings">The section.</param>
    /// <exception cref="InvalidOperationException">A setting has a value of the wrong type.</exception>
    public void Bind(IConfiguration settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ChunkSize = (int)(ReadLong(settings, "chunkSize") ?? ChunkSize);
        ChunkMilliseconds = (int)(ReadLong(settings, "chunkMilliseconds") ?? ChunkMilliseconds);
        AutoAcceptMaxBytes = ReadLong(settings, "autoAcceptMaxBytes") ?? AutoAcceptMaxBytes;
        AckIntervalBytes = ReadLong(settings, "ackIntervalBytes") ?? AckIntervalBytes;
        ReceiveWindowBytes = ReadLong(settings, "receiveWindowBytes") ?? ReceiveWindowBytes;
        ReadAheadChunks = (int)(ReadLong(settings, "readAheadChunks") ?? ReadAheadChunks);
        MaxPreviewBytes = (int)(ReadLong(settings, "maxPreviewBytes") ?? MaxPreviewBytes);
        MaxIncomingFileBytes = ReadLong(settings, "maxIncomingFileBytes") ?? MaxIncomingFileBytes;
        MaxGapRequests = (int)(ReadLong(settings, "maxGapRequests") ?? MaxGapRequests);
        MaxOpenIncomingTransfers = (int)(ReadLong(settings, "maxOpenIncomingTransfers") ?? MaxOpenIncomingTransfers);
        MinFreeDiskBytes = ReadLong(settings, "minFreeDiskBytes") ?? MinFreeDiskBytes;
        MaxRefusedOffersPerSession = (int)(ReadLong(settings, "maxRefusedOffersPerSession") ?? MaxRefusedOffersPerSession);
        if (ReadLong(settings, "progressIntervalMilliseconds") is { } ms)
        {
            ProgressInterval = TimeSpan.FromMilliseconds(ms);
        }

        if (settings["keepPartialOnCancel"] is { } keep)
        {
            KeepPartialOnCancel = bool.TryParse(keep, out var value)
                ? value
                : throw new InvalidOperationException($"FileTransfer setting 'keepPartialOnCancel' must be true or false, not '{keep}'.");
        }
    }

    /// <summary>Checks the values are usable.</summary>
    /// <exception cref="InvalidOperationException">A value is out of range; the message names it.</exception>
    public void Validate()
    {
        if (ChunkSize is < 1024 or > 16 * 1024 * 1024)
        {
            throw new InvalidOperationException($"FileTransfer 'chunkSize' must be 1 KiB to 16 MiB, not {ChunkSize}.");
        }

        if (ChunkMilliseconds is < 0 or > 1000)
        {
            throw new InvalidOperationException($"FileTransfer 'chunkMilliseconds' must be 0 to 1000, not {ChunkMilliseconds}.");
        }

        if (AckIntervalBytes < ChunkSize)
        {
            throw new InvalidOperationException($"FileTransfer 'ackIntervalBytes' must be at least the chunk size ({ChunkSize}), not {AckIntervalBytes}.");
        }

        if (ReceiveWindowBytes < 2L * ChunkSize || ReceiveWindowBytes > 256L * 1024 * 1024)
        {
            throw new InvalidOperationException($"FileTransfer 'receiveWindowBytes' must be two chunks ({2L * ChunkSize}) to 256 MiB, not {ReceiveWindowBytes}.");
        }

        if (ReadAheadChunks is < 1 or > 64)
        {
            throw new InvalidOperationException($"FileTransfer 'readAheadChunks' must be 1 to 64, not {ReadAheadChunks}.");
        }

        if (MaxPreviewBytes is < 0 or > 192 * 1024)
        {
            throw new InvalidOperationException($"FileTransfer 'maxPreviewBytes' must be 0 to 192 KiB (it travels in one frame), not {MaxPreviewBytes}.");
        }

        if (MaxGapRequests is < 0 or > 1000)
        {
            throw new InvalidOperationException($"FileTransfer 'maxGapRequests' must be 0 to 1000, not {MaxGapRequests}.");
        }

        if (MaxOpenIncomingTransfers is < 1 or > 100_000)
        {
            throw new InvalidOperationException($"FileTransfer 'maxOpenIncomingTransfers' must be 1 to 100000, not {MaxOpenIncomingTransfers}.");
        }

        if (MinFreeDiskBytes < 0)
        {
            throw new InvalidOperationException($"FileTransfer 'minFreeDiskBytes' must not be negative, not {MinFreeDiskBytes}.");
        }

        if (MaxRefusedOffersPerSession is < 1 or > 10_000_000)
        {
            throw new InvalidOperationException($"FileTransfer 'maxRefusedOffersPerSession' must be 1 to 10000000, not {MaxRefusedOffersPerSession}.");
        }

        if (ProgressInterval <= TimeSpan.Zero)
        {
            throw new InvalidOperationException("FileTransfer 'progressIntervalMilliseconds' must be positive.");
        }
    }

    private static long? ReadLong(IConfiguration settings, string key) =>
        settings[key] is not { } text ? null
        : long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value
        : throw new InvalidOperationException($"FileTransfer setting '{key}' must be a whole number, not '{text}'.");
}
