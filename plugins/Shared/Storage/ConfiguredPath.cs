namespace Messenger.Plugins.Storage.Sqlite;

/// <summary>Turns a folder setting from plugins.json into a full path: <c>~</c> is the home folder, <c>%VAR%</c> expands.</summary>
internal static class ConfiguredPath
{
    public static string Resolve(string setting)
    {
        var expanded = Environment.ExpandEnvironmentVariables(setting);
        if (expanded == "~" || expanded.StartsWith("~/", StringComparison.Ordinal))
        {
            expanded = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), expanded.TrimStart('~').TrimStart('/'));
        }

        return Path.GetFullPath(expanded);
    }
}
