using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;

namespace Messenger.Host.Plugins;

/// <summary>One entry of <c>plugins.json</c>.</summary>
/// <param name="Index">Its position in the <c>plugins</c> array, for messages.</param>
/// <param name="Name">The plugin's name, unique in the file.</param>
/// <param name="Folder">The plugin's folder, absolute.</param>
/// <param name="AssemblyPath">The plugin's main assembly, absolute.</param>
/// <param name="Enabled">False to keep the entry without loading it.</param>
/// <param name="Settings">The entry's <c>settings</c> object, given to the plugin's <c>ConfigureServices</c>.</param>
public sealed record PluginEntry(int Index, string Name, string Folder, string AssemblyPath, bool Enabled, IConfiguration Settings)
{
    /// <summary>
    /// Where the entry (or one of its properties, such as <c>"folder"</c> or <c>"settings.path"</c>) is written in the
    /// file: <c>/srv/plugins.json:14:7</c>, 1-based line and column. Just the file when the position is unknown.
    /// </summary>
    public Func<string, string> Locate { get; init; } = _ => "plugins.json";

    /// <summary>Where the entry starts in the file (see <see cref="Locate"/>).</summary>
    public string Location => Locate("");
}

/// <summary>
/// The parsed <c>plugins.json</c>: which plugins the host loads, from which folders, with which settings.
/// Relative folders are relative to the file's own folder.
/// </summary>
/// <example>
/// <code>
/// { "plugins": [ { "name": "FileTransfer", "folder": "artifacts/plugins/Messenger.Plugins.FileTransfer",
///                  "enabled": true, "settings": { "chunkSize": 16384 } } ] }
/// </code>
/// </example>
public sealed class PluginsFile
{
    private static readonly HashSet<string> KnownEntryProperties = new(StringComparer.Ordinal) { "name", "folder", "assembly", "enabled", "settings" };

    private PluginsFile(string path, IReadOnlyList<PluginEntry> entries)
    {
        Path = path;
        Entries = entries;
    }

    /// <summary>The file's absolute path.</summary>
    public string Path { get; }

    /// <summary>The entries, in file order.</summary>
    public IReadOnlyList<PluginEntry> Entries { get; }

    /// <summary>Reads and validates a <c>plugins.json</c>.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The parsed file.</returns>
    /// <exception cref="PluginsConfigurationException">The file is missing or malformed; the message says where.</exception>
    public static PluginsFile Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var fullPath = System.IO.Path.GetFullPath(path);
        string text;
        try
        {
            text = File.ReadAllText(fullPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new PluginsConfigurationException($"{fullPath}: cannot read the plugins file: {ex.Message}", ex);
        }

        return Parse(text, fullPath);
    }

    /// <summary>Parses <c>plugins.json</c> text.</summary>
    /// <param name="json">The file's text.</param>
    /// <param name="path">The file's path; relative folders resolve against its folder.</param>
    /// <returns>The parsed file.</returns>
    /// <exception cref="PluginsConfigurationException">The text is malformed; the message says where.</exception>
    public static PluginsFile Parse(string json, string path)
    {
        ArgumentNullException.ThrowIfNull(json);
        var fullPath = System.IO.Path.GetFullPath(path);
        var baseFolder = System.IO.Path.GetDirectoryName(fullPath) ?? Environment.CurrentDirectory;
        var utf8 = PluginsFilePositions.Encode(json);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException ex)
        {
            throw new PluginsConfigurationException($"{JsonErrorLocation(utf8, fullPath, ex)}: not valid JSON: {JsonErrorText(ex)}", ex);
        }

        var positions = PluginsFilePositions.Index(utf8);

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("plugins", out var plugins))
            {
                throw new PluginsConfigurationException($"{fullPath}:1:1: the file must be an object with a \"plugins\" array.");
            }

            if (plugins.ValueKind != JsonValueKind.Array)
            {
                throw new PluginsConfigurationException($"{fullPath}: \"plugins\" must be an array, not {Describe(plugins.ValueKind)}.");
            }

            var entries = new List<PluginEntry>();
            var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            var index = 0;
            foreach (var element in plugins.EnumerateArray())
            {
                var entryIndex = index;
                string Locate(string key)
                {
                    var (line, column) = positions.Of(entryIndex, key);
                    return $"{fullPath}:{line}:{column}";
                }

                var entry = ParseEntry(element, index, Locate, baseFolder);
                if (!names.Add(entry.Name))
                {
                    throw new PluginsConfigurationException($"{Locate("name")}: plugins[{index}] (\"{entry.Name}\"): the name is used by an earlier entry; names must be unique.");
                }

                entries.Add(entry);
                index++;
            }

            return new PluginsFile(fullPath, entries);
        }
    }

    private static PluginEntry ParseEntry(JsonElement element, int index, Func<string, string> locate, string baseFolder)
    {
        var entry = $"plugins[{index}]";
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new PluginsConfigurationException($"{locate("")}: {entry}: an entry must be an object, not {Describe(element.ValueKind)}.");
        }

        Func<string, string> where = key => $"{locate(key)}: {entry}";
        var name = RequiredString(element, "name", where);
        where = key => $"{locate(key)}: {entry} (\"{name}\")";
        foreach (var property in element.EnumerateObject())
        {
            if (!KnownEntryProperties.Contains(property.Name))
            {
                throw new PluginsConfigurationException($"{where(property.Name)}: unknown property \"{property.Name}\"; expected {string.Join(", ", KnownEntryProperties.Order(StringComparer.Ordinal))}.");
            }
        }

        var folder = System.IO.Path.GetFullPath(RequiredString(element, "folder", where), baseFolder);
        var assemblyName = OptionalString(element, "assembly", where) ?? System.IO.Path.GetFileName(folder.TrimEnd(System.IO.Path.DirectorySeparatorChar)) + ".dll";
        if (assemblyName.IndexOfAny(['/', '\\']) >= 0 || assemblyName is "." or "..")
        {
            throw new PluginsConfigurationException($"{where("assembly")}: \"assembly\" must be a file name inside the plugin's folder, not a path.");
        }

        var enabled = true;
        if (element.TryGetProperty("enabled", out var enabledElement))
        {
            enabled = enabledElement.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw new PluginsConfigurationException($"{where("enabled")}: \"enabled\" must be true or false, not {Describe(enabledElement.ValueKind)}."),
            };
        }

        var settings = new ConfigurationBuilder().Build() as IConfiguration;
        if (element.TryGetProperty("settings", out var settingsElement))
        {
            if (settingsElement.ValueKind != JsonValueKind.Object)
            {
                throw new PluginsConfigurationException($"{where("settings")}: \"settings\" must be an object, not {Describe(settingsElement.ValueKind)}.");
            }

            using var stream = new MemoryStream(Encoding.UTF8.GetBytes(settingsElement.GetRawText()));
            settings = new ConfigurationBuilder().AddJsonStream(stream).Build();
        }

        return new PluginEntry(index, name, folder, System.IO.Path.Combine(folder, assemblyName), enabled, settings) { Locate = locate };
    }

    private static string RequiredString(JsonElement element, string property, Func<string, string> where) =>
        OptionalString(element, property, where) is { Length: > 0 } value
            ? value
            : throw new PluginsConfigurationException($"{where(property)}: \"{property}\" is required and must be a non-empty string.");

    private static string? OptionalString(JsonElement element, string property, Func<string, string> where)
    {
        if (!element.TryGetProperty(property, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String
            ? value.GetString()!.Trim()
            : throw new PluginsConfigurationException($"{where(property)}: \"{property}\" must be a string, not {Describe(value.ValueKind)}.");
    }

    // System.Text.Json reports 0-based lines and byte offsets; people (and editors) count from 1, in characters.
    private static string JsonErrorLocation(byte[] utf8, string path, JsonException ex)
    {
        var (line, column) = PluginsFilePositions.LinesOf(utf8).AtLineByte(ex.LineNumber ?? 0, ex.BytePositionInLine ?? 0);
        return $"{path}:{line}:{column}";
    }

    // The parser's message without its own 0-based "LineNumber: 3 | BytePositionInLine: 4." tail.
    private static string JsonErrorText(JsonException ex)
    {
        var text = ex.Message;
        var tail = text.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return (tail > 0 ? text[..tail] : text).TrimEnd('.', ' ') + ".";
    }

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };
}
