using System.Buffers;
using MessagePack;
using Messenger.Contracts.Framing;

namespace Messenger.Plugins.FileTransfer.Protocol;

/// <summary>
/// A chunk frame body: the MessagePack array <c>[transferId, index, crc32c, payload]</c>. Written and read by hand so
/// the payload is never copied on the hot path.
/// </summary>
/// <param name="TransferId">The transfer id.</param>
/// <param name="Index">The chunk's index; its payload starts at <c>Index × ChunkSize</c>.</param>
/// <param name="Crc32C">The CRC-32C (Castagnoli) of the payload.</param>
/// <param name="Payload">The bytes; valid only while the frame is being handled.</param>
public readonly record struct ChunkFrame(string TransferId, long Index, uint Crc32C, ReadOnlyMemory<byte> Payload)
{
    /// <summary>The most bytes a chunk body adds around its payload (64-character id, 64-bit index, CRC, bin32 header).</summary>
    public const int Overhead = 1 + 2 + TransferIds.MaxLength + 9 + 5 + 5;

    /// <summary>Writes a chunk body.</summary>
    /// <param name="destination">Where the body goes.</param>
    /// <param name="transferId">The transfer id.</param>
    /// <param name="index">The chunk index.</param>
    /// <param name="payload">The chunk bytes.</param>
    public static void Write(IBufferWriter<byte> destination, string transferId, long index, ReadOnlySpan<byte> payload)
    {
        var writer = new MessagePackWriter(destination);
        writer.WriteArrayHeader(4);
        writer.Write(transferId);
        writer.Write(index);
        writer.Write(Crc32CChecksum.Compute(payload));
        writer.Write(payload);
        writer.Flush();
    }

    /// <summary>Reads a chunk body without copying the payload.</summary>
    /// <param name="body">The untrusted body.</param>
    /// <returns>The chunk; its payload is a slice of <paramref name="body"/>.</returns>
    /// <exception cref="FrameFormatException">The body is not a chunk.</exception>
    public static ChunkFrame Read(ReadOnlyMemory<byte> body)
    {
        try
        {
            var reader = new MessagePackReader(body);
            if (reader.ReadArrayHeader() != 4)
            {
                throw new FrameFormatException("a chunk is an array of 4: [transferId, index, crc32c, payload]");
            }

            var id = reader.ReadString() ?? throw new FrameFormatException("a chunk needs a transfer id");
            var index = reader.ReadInt64();
            var crc = reader.ReadUInt32();
            var payload = reader.ReadBytes() ?? throw new FrameFormatException("a chunk needs a payload");
            if (!reader.End)
            {
                throw new FrameFormatException("a chunk body has bytes after its payload");
            }

            var start = (int)reader.Consumed - (int)payload.Length;
            return new ChunkFrame(id, index, crc, body.Slice(start, (int)payload.Length));
        }
        catch (MessagePackSerializationException ex)
        {
            throw new FrameFormatException($"not a chunk: {ex.Message}", ex);
        }
        catch (EndOfStreamException ex)
        {
            throw new FrameFormatException("a chunk body is truncated", ex);
        }
        catch (Exception ex) when (ex is OverflowException or ArgumentOutOfRangeException)
        {
            // Found by fuzzing: a str32 length over 2 GiB made the reader throw ArgumentOutOfRangeException.
            throw new FrameFormatException($"a chunk field is out of range: {ex.Message}", ex);
        }
    }
}
