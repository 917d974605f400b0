using Messenger.Contracts.Storage;
using Messenger.Host.Plugins;
using Microsoft.Extensions.Configuration;

namespace Messenger.Cli.Profile;

/// <summary>
/// Points every store of the operator's plugins.json at one person's data folder: the store of entry NAME in
/// <c>DATA/NAME</c>, received files in <c>DATA/Downloads</c>, and the key setting only for a store that declares it
/// needs one (<see cref="StoragePluginAttribute.RequiresKey"/>; a store without the declaration is asked for one).
/// Nothing is written to disk: the plugins see the operator's file with these settings replaced, so every error names
/// the file the operator edited. A setting of the file that is replaced is reported, with its line and column.
/// </summary>
/// <param name="dataFolder">The person's folder.</param>
/// <param name="keySetting">Gives the one key setting, e.g. ("keyFile", PATH); called only when a store needs a key.</param>
/// <param name="report">Told, once per replaced setting, what the file said and what is used instead; or null.</param>
internal sealed class StoreSettings(string dataFolder, Func<(string Name, string Value)> keySetting, Action<string>? report)
{
    private static readonly string[] KeySettings = ["keyFile", "passphraseEnvironmentVariable", "keyEnvironmentVariable"];

    /// <summary>The <see cref="PluginSettingsSelector"/>: an entry that is no store keeps its settings.</summary>
    public IConfiguration Select(PluginEntry entry, StoragePluginAttribute? storage)
    {
        var isStore = storage is not null || entry.Settings["path"] is not null;
        if (!isStore)
        {
            return entry.Settings;
        }

        var values = entry.Settings.AsEnumerable().Where(p => p.Value is not null).ToDictionary(p => p.Key, p => p.Value, StringComparer.OrdinalIgnoreCase);
        Replace(entry, values, "path", Path.Combine(dataFolder, Sanitize(entry.Name)));
        Replace(entry, values, "downloadsPath", Path.Combine(dataFolder, "Downloads"));
        foreach (var name in KeySettings)
        {
            values.Remove(name);
        }

        if (storage?.RequiresKey ?? true)
        {
            var (name, value) = keySetting();
            values[name] = value;
        }

        return new ConfigurationBuilder().AddInMemoryCollection(values).Build();
    }

    private void Replace(PluginEntry entry, Dictionary<string, string?> values, string setting, string used)
    {
        if (values.TryGetValue(setting, out var given) && given is { Length: > 0 } && !SamePath(given, used))
        {
            report?.Invoke($"{entry.Locate("settings." + setting)}: the {entry.Name} store's \"{setting}\" ({given}) is not used: your profile folder holds it, {used} (choose the folder with --profile or ${StoreProfile.HomeVariable}).");
        }

        values[setting] = used;
    }

    private static bool SamePath(string given, string used)
    {
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        var expanded = given == "~" ? home : given.StartsWith("~/", StringComparison.Ordinal) ? Path.Combine(home, given[2..]) : given;
        return string.Equals(Path.GetFullPath(expanded).TrimEnd('/'), Path.GetFullPath(used).TrimEnd('/'), StringComparison.Ordinal);
    }

    // A plugin's name becomes a folder name: keep it inside the data folder whatever the name says.
    private static string Sanitize(string name)
    {
        var safe = new string(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_').ToArray()).Trim('.');
        return safe.Length == 0 ? "store" : safe;
    }
}
