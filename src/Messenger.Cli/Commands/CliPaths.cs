namespace Messenger.Cli.Commands;

/// <summary>Resolves the files the commands need, with errors that say what to do.</summary>
internal static class CliPaths
{
    public static string ResolvePluginsFile(FileInfo? given)
    {
        if (given is not null)
        {
            return given.Exists ? given.FullName : throw new CliException($"No plugins file at {given.FullName}.");
        }

        return PluginsFileLocator.Find()
            ?? throw new CliException($"No {PluginsFileLocator.FileName} found in this folder or above it; pass --plugins PATH.");
    }
}

/// <summary>An error the user can act on: printed as one line, exit code <see cref="ExitCodes.UsageError"/>.</summary>
internal sealed class CliException(string message) : Exception(message);

/// <summary>The command's exit codes.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int UsageError = 2;
    public const int PluginsFailed = 3;
    public const int StorageFailed = 4;
    public const int ConnectionFailed = 5;
    public const int IdentityRefused = 6;
    public const int Cancelled = 130;
}
