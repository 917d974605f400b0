using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Messenger.Transport.Signaling;

/// <summary>The signaling wire format: one JSON object per line, UTF-8, at most <see cref="SignalingRelay.MaxLineBytes"/>.</summary>
public static class SignalingLines
{
    /// <summary>Reads lines until the stream ends; every line must be a JSON object.</summary>
    /// <param name="stream">The connection.</param>
    /// <param name="cancellationToken">Stops reading.</param>
    /// <returns>The lines, without the newline.</returns>
    /// <exception cref="SignalingProtocolException">A line is too long, not UTF-8, or not a JSON object.</exception>
    public static async IAsyncEnumerable<string> ReadAsync(Stream stream, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var buffer = new byte[8192];
        var line = new MemoryStream();
        while (true)
        {
            var read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                yield break;
            }

            var start = 0;
            for (var i = 0; i < read; i++)
            {
                if (buffer[i] != (byte)'\n')
                {
                    continue;
                }

                line.Write(buffer, start, i - start);
                start = i + 1;
                yield return Validate(line);
                line.SetLength(0);
            }

            line.Write(buffer, start, read - start);
            if (line.Length > SignalingRelay.MaxLineBytes)
            {
                throw new SignalingProtocolException($"a signaling line is longer than {SignalingRelay.MaxLineBytes} bytes");
            }
        }
    }

    /// <summary>An error line.</summary>
    /// <param name="message">What went wrong.</param>
    /// <returns>The JSON line.</returns>
    public static string Error(string message) => new JsonObject { ["type"] = "error", ["message"] = message }.ToJsonString();

    /// <summary>
    /// One line as a JSON object, whatever the other end sent: not JSON, not an object (<c>null</c>, an array) or a
    /// repeated property name all end in <see cref="SignalingProtocolException"/> (found by fuzzing: each escaped as a
    /// JsonException, NullReferenceException, InvalidOperationException or ArgumentException).
    /// </summary>
    /// <param name="line">The line.</param>
    /// <returns>The object, its properties already read.</returns>
    /// <exception cref="SignalingProtocolException">The line is not one JSON object.</exception>
    public static JsonObject ParseObject(string line)
    {
        try
        {
            if (JsonNode.Parse(line) is not JsonObject message)
            {
                throw new SignalingProtocolException("a signaling line must be one JSON object");
            }

            _ = message.Count; // reads every property now: a repeated name throws here, not later at a lookup
            return message;
        }
        catch (JsonException ex)
        {
            throw new SignalingProtocolException($"a signaling line is not JSON: {ex.Message}");
        }
        catch (ArgumentException ex)
        {
            throw new SignalingProtocolException($"a signaling line names a property twice: {ex.Message}");
        }
    }

    /// <summary>Reads the room name from a join line.</summary>
    /// <param name="line">The first line a peer sends.</param>
    /// <returns>The room name.</returns>
    /// <exception cref="SignalingProtocolException">It is not a join with a room of 1–64 printable characters.</exception>
    public static string ParseJoin(string line)
    {
        var message = ParseObject(line);
        if (message["type"]?.GetValueKind() != JsonValueKind.String || (string?)message["type"] != "join"
            || message["room"]?.GetValueKind() != JsonValueKind.String)
        {
            throw new SignalingProtocolException("the first line must be {\"type\":\"join\",\"room\":\"NAME\"}");
        }

        var room = (string)message["room"]!;
        if (room.Length is 0 or > 64 || room.Any(char.IsControl))
        {
            throw new SignalingProtocolException("a room name has 1 to 64 printable characters");
        }

        return room;
    }

    private static string Validate(MemoryStream line)
    {
        if (line.Length > SignalingRelay.MaxLineBytes)
        {
            throw new SignalingProtocolException($"a signaling line is longer than {SignalingRelay.MaxLineBytes} bytes");
        }

        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(line.GetBuffer(), 0, (int)line.Length).TrimEnd('\r');
            if (JsonNode.Parse(text) is not JsonObject)
            {
                throw new SignalingProtocolException("a signaling line must be a JSON object");
            }
        }
        catch (Exception ex) when (ex is DecoderFallbackException or JsonException)
        {
            throw new SignalingProtocolException($"a signaling line is not UTF-8 JSON: {ex.Message}", ex);
        }

        return text;
    }
}

/// <summary>A peer broke the signaling protocol; the relay answers with an error line and disconnects it.</summary>
public sealed class SignalingProtocolException : Exception
{
    /// <summary>Creates the exception with a default message.</summary>
    public SignalingProtocolException()
        : base("The signaling protocol was broken.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What was wrong.</param>
    public SignalingProtocolException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">What was wrong.</param>
    /// <param name="innerException">The cause.</param>
    public SignalingProtocolException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
