using System.Numerics;

namespace Messenger.Transport.Sctp;

/// <summary>
/// Which TSNs above the cumulative TSN were received (RFC 9260 §6.2), as a bitmap ring: no allocation per packet.
/// </summary>
internal sealed class TsnTracker
{
    public const int Window = 1 << 16;
    private readonly ulong[] _bits = new ulong[Window / 64];

    public TsnTracker(uint initialTsn)
    {
        CumulativeTsn = initialTsn - 1;
        HighestReceived = CumulativeTsn;
    }

    public uint CumulativeTsn { get; private set; }

    public uint HighestReceived { get; private set; }

    public bool HasGaps => HighestReceived != CumulativeTsn;

    public bool IsReceived(uint tsn) => SerialNumber.LessOrEqual(tsn, CumulativeTsn) || (InWindow(tsn) && Get(tsn));

    public bool InWindow(uint tsn) => SerialNumber.Greater(tsn, CumulativeTsn) && tsn - CumulativeTsn < Window;

    /// <summary>Marks a TSN received; the caller checked it is in the window and new.</summary>
    public void Add(uint tsn)
    {
        Set(tsn, true);
        HighestReceived = SerialNumber.Max(HighestReceived, tsn);
        while (Get(CumulativeTsn + 1) && CumulativeTsn != HighestReceived)
        {
            CumulativeTsn++;
            Set(CumulativeTsn, false);
        }
    }

    /// <summary>RFC 3758 §3.6: moves the cumulative TSN forward as if everything up to it arrived.</summary>
    public void ForwardTo(uint newCumulative)
    {
        if (!SerialNumber.Greater(newCumulative, CumulativeTsn))
        {
            return;
        }

        if (newCumulative - CumulativeTsn >= Window)
        {
            Array.Clear(_bits);
        }
        else
        {
            for (var t = CumulativeTsn + 1; t != newCumulative + 1; t++)
            {
                Set(t, false);
            }
        }

        CumulativeTsn = newCumulative;
        HighestReceived = SerialNumber.Max(HighestReceived, newCumulative);
        while (CumulativeTsn != HighestReceived && Get(CumulativeTsn + 1))
        {
            CumulativeTsn++;
            Set(CumulativeTsn, false);
        }
    }

    /// <summary>Writes gap ack blocks (offsets from the cumulative TSN) into <paramref name="blocks"/>; returns how many.</summary>
    public int GetGapBlocks(Span<(ushort Start, ushort End)> blocks)
    {
        var count = 0;
        var offset = 1u;
        var span = HighestReceived - CumulativeTsn;
        while (offset <= span && count < blocks.Length)
        {
            offset = NextWithValue(offset, span, true);
            if (offset > span)
            {
                break;
            }

            var end = NextWithValue(offset, span, false) - 1;
            blocks[count++] = ((ushort)offset, (ushort)Math.Min(end, ushort.MaxValue));
            offset = end + 1;
            if (offset > ushort.MaxValue)
            {
                break;
            }
        }

        return count;
    }

    // Finds the first offset at or after 'from' whose bit equals 'value', scanning 64 bits at a time.
    private uint NextWithValue(uint from, uint limit, bool value)
    {
        var offset = from;
        while (offset <= limit)
        {
            var tsn = CumulativeTsn + offset;
            var index = (int)(tsn & (Window - 1));
            var word = _bits[index >> 6] >> (index & 63);
            if (!value)
            {
                word = ~word;
            }

            var available = 64 - (index & 63);
            if (word != 0)
            {
                var skip = (uint)BitOperations.TrailingZeroCount(word);
                if (skip < available)
                {
                    return Math.Min(offset + skip, limit + 1);
                }
            }

            offset += (uint)available;
        }

        return limit + 1;
    }

    private bool Get(uint tsn)
    {
        var index = (int)(tsn & (Window - 1));
        return (_bits[index >> 6] & (1UL << (index & 63))) != 0;
    }

    private void Set(uint tsn, bool value)
    {
        var index = (int)(tsn & (Window - 1));
        if (value)
        {
            _bits[index >> 6] |= 1UL << (index & 63);
        }
        else
        {
            _bits[index >> 6] &= ~(1UL << (index & 63));
        }
    }
}
