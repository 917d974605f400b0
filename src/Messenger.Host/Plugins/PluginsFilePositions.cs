using System.Text;
using System.Text.Json;

namespace Messenger.Host.Plugins;

/// <summary>
/// Where each entry of a <c>plugins.json</c> and each of its properties (and each setting) starts, as 1-based line and
/// column, so a message points at the place the operator typed: <c>plugins.json:14:7</c>, as compilers print it.
/// </summary>
internal sealed class PluginsFilePositions
{
    private readonly byte[] _utf8;
    private readonly List<int> _lineStarts = [0];
    private readonly Dictionary<(int Entry, string Key), int> _offsets = [];

    private PluginsFilePositions(byte[] utf8)
    {
        _utf8 = utf8;
        for (var i = 0; i < utf8.Length; i++)
        {
            if (utf8[i] == (byte)'\n')
            {
                _lineStarts.Add(i + 1);
            }
        }
    }

    /// <summary>Lines only, for text that is not valid JSON (positions of a parser's error).</summary>
    public static PluginsFilePositions LinesOf(byte[] utf8) => new(utf8);

    /// <summary>Indexes valid JSON text (comments and trailing commas allowed, as the file is parsed).</summary>
    public static PluginsFilePositions Index(byte[] utf8)
    {
        var positions = new PluginsFilePositions(utf8);
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        var inPlugins = false;
        var entry = -1;
        string? entryProperty = null;
        while (reader.Read())
        {
            var depth = reader.CurrentDepth;
            switch (reader.TokenType)
            {
                case JsonTokenType.PropertyName when depth == 1:
                    inPlugins = reader.ValueTextEquals("plugins"u8);
                    break;
                case JsonTokenType.StartObject when inPlugins && depth == 2:
                    positions._offsets[(++entry, "")] = (int)reader.TokenStartIndex;
                    break;
                case JsonTokenType.PropertyName when inPlugins && depth == 3:
                    entryProperty = reader.GetString();
                    positions._offsets.TryAdd((entry, entryProperty!), (int)reader.TokenStartIndex);
                    break;
                case JsonTokenType.PropertyName when inPlugins && depth == 4 && entryProperty == "settings":
                    positions._offsets.TryAdd((entry, "settings." + reader.GetString()), (int)reader.TokenStartIndex);
                    break;
                case JsonTokenType.EndArray when depth == 1:
                    inPlugins = false;
                    break;
            }
        }

        return positions;
    }

    /// <summary>The start of entry <paramref name="entry"/>, or of its <paramref name="key"/> (<c>"enabled"</c>, <c>"settings.path"</c>) when present.</summary>
    public (int Line, int Column) Of(int entry, string key = "") =>
        _offsets.TryGetValue((entry, key), out var offset) || _offsets.TryGetValue((entry, ""), out offset) ? At(offset) : (1, 1);

    /// <summary>1-based line and column (in characters) of a byte offset.</summary>
    public (int Line, int Column) At(int offset)
    {
        var line = _lineStarts.BinarySearch(offset);
        line = line >= 0 ? line : ~line - 1;
        return (line + 1, Column(_lineStarts[line], offset));
    }

    /// <summary>1-based line and column (in characters) of a 0-based line and byte position in it, as JsonException reports them.</summary>
    public (int Line, int Column) AtLineByte(long line, long bytePositionInLine)
    {
        var index = (int)Math.Clamp(line, 0, _lineStarts.Count - 1);
        var start = _lineStarts[index];
        return (index + 1, Column(start, (int)Math.Min(_utf8.Length, start + bytePositionInLine)));
    }

    // Characters, not bytes: a UTF-8 continuation byte (10xxxxxx) does not start one.
    private int Column(int lineStart, int offset)
    {
        var column = 1;
        for (var i = lineStart; i < offset && i < _utf8.Length; i++)
        {
            if ((_utf8[i] & 0xC0) != 0x80)
            {
                column++;
            }
        }

        return column;
    }

    /// <summary>The file's text as the parser sees it.</summary>
    public static byte[] Encode(string text) => Encoding.UTF8.GetBytes(text);
}
