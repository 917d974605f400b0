using System.Text.Json;
using System.Text.Json.Nodes;

namespace Messenger.Cli.Profile;

/// <summary>
/// Derives a plugins.json for one person's data from the operator's: plugin folders made absolute, and every store
/// entry (one with a <c>path</c> setting) pointed at the given data folder with the given key source.
/// </summary>
internal static class StorePluginsFile
{
    /// <summary>Writes the derived file to <paramref name="destination"/>.</summary>
    /// <param name="pluginsFile">The operator's plugins.json.</param>
    /// <param name="destination">Where to write the derived file.</param>
    /// <param name="dataFolder">The person's folder: stores go to <c>DATA/NAME</c>, downloads to <c>DATA/Downloads</c>.</param>
    /// <param name="keySetting">The one key setting, e.g. ("keyFile", PATH) or ("passphraseEnvironmentVariable", NAME).</param>
    public static void Write(string pluginsFile, string destination, string dataFolder, (string Name, string Value) keySetting)
    {
        var baseFolder = Path.GetDirectoryName(Path.GetFullPath(pluginsFile))!;
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(pluginsFile), documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException ex)
        {
            throw new CliException($"{pluginsFile} is not valid JSON: {ex.Message}");
        }

        if (root?["plugins"] is JsonArray plugins)
        {
            foreach (var entry in plugins.OfType<JsonObject>())
            {
                if (entry["folder"] is JsonValue folder && folder.TryGetValue<string>(out var folderText))
                {
                    entry["folder"] = Path.GetFullPath(folderText, baseFolder);
                }

                if (entry["settings"] is JsonObject settings && settings.ContainsKey("path"))
                {
                    var name = entry["name"] is JsonValue n && n.TryGetValue<string>(out var nameText) ? nameText : "store";
                    settings["path"] = Path.Combine(dataFolder, Sanitize(name));
                    settings["downloadsPath"] = Path.Combine(dataFolder, "Downloads");
                    settings.Remove("passphraseEnvironmentVariable");
                    settings.Remove("keyEnvironmentVariable");
                    settings.Remove("keyFile");
                    settings[keySetting.Name] = keySetting.Value;
                }
            }
        }

        File.WriteAllText(destination, (root ?? new JsonObject()).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    // A plugin's name becomes a folder name: keep it inside the data folder whatever the name says.
    private static string Sanitize(string name)
    {
        var safe = new string(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_').ToArray()).Trim('.');
        return safe.Length == 0 ? "store" : safe;
    }
}
