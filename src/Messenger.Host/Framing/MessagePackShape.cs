using MessagePack;

namespace Messenger.Host.Framing;

/// <summary>
/// Measures one MessagePack object without recursion, so a hostile, deeply nested body cannot overflow the stack.
/// </summary>
internal static class MessagePackShape
{
    /// <summary>The deepest nesting of arrays and maps a frame body may have.</summary>
    public const int MaxDepth = 32;

    /// <summary>Checks that <paramref name="reader"/> is positioned on one whole object and skips it.</summary>
    /// <returns>Null when well formed, else why not.</returns>
    public static string? TrySkipOne(ref MessagePackReader reader)
    {
        Span<long> remaining = stackalloc long[MaxDepth + 1];
        var depth = 0;
        remaining[0] = 1;
        try
        {
            while (depth >= 0)
            {
                if (remaining[depth] == 0)
                {
                    depth--;
                    continue;
                }

                remaining[depth]--;
                if (reader.End)
                {
                    return "the body ends in the middle of an object";
                }

                switch (reader.NextMessagePackType)
                {
                    case MessagePackType.Array:
                    case MessagePackType.Map:
                        if (depth == MaxDepth)
                        {
                            return $"the body nests deeper than {MaxDepth} levels";
                        }

                        // ReadArrayHeader/ReadMapHeader refuse counts larger than the bytes left, so a lying count fails here.
                        long count = reader.NextMessagePackType == MessagePackType.Array
                            ? reader.ReadArrayHeader()
                            : 2L * reader.ReadMapHeader();
                        remaining[++depth] = count;
                        break;
                    case MessagePackType.Unknown:
                        return $"byte 0x{reader.NextCode:x2} is not a MessagePack type code";
                    default:
                        reader.Skip();
                        break;
                }
            }

            return null;
        }
        catch (MessagePackSerializationException ex)
        {
            return ex.Message;
        }
        catch (Exception ex) when (ex is EndOfStreamException or ArgumentOutOfRangeException)
        {
            // MessagePackReader.Skip reports a string or binary longer than the bytes left as ArgumentOutOfRange.
            return "the body ends in the middle of an object";
        }
    }

    /// <summary>True when <paramref name="body"/> is exactly one well-formed MessagePack object.</summary>
    public static bool IsSingleObject(ReadOnlyMemory<byte> body, out string? error)
    {
        var reader = new MessagePackReader(body);
        error = TrySkipOne(ref reader);
        if (error is null && !reader.End)
        {
            error = $"{body.Length - reader.Consumed} bytes follow the body's object";
        }

        return error is null;
    }
}
