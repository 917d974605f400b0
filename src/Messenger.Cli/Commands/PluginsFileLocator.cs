namespace Messenger.Cli.Commands;

/// <summary>Finds <c>plugins.json</c> when <c>--plugins</c> is not given: the current folder or any above it, then beside the program.</summary>
internal static class PluginsFileLocator
{
    public const string FileName = "plugins.json";

    public static string? Find()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, FileName);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }
}
