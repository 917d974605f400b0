using System.CommandLine;
using Messenger.Cli;
using Messenger.Contracts.Storage;
using Messenger.Host.Plugins;
using Messenger.Transport.Signaling;
using Spectre.Console;

ConsoleSetup.Apply();

var pluginsOption = new Option<FileInfo?>("--plugins")
{
    Description = "The plugins.json to load (default: plugins.json in this folder or above).",
    Recursive = true,
};
var root = new RootCommand("messenger: peer-to-peer chat with file transfer, previews and encrypted storage as plugins.")
{
    pluginsOption,
    DemoCommand.Create(pluginsOption),
    PluginsCommand.Create(pluginsOption),
    SignalCommand.Create(),
    HistoryCommand.Create(pluginsOption, new StoreProfile.Options()),
    ExportCommand.Create(pluginsOption, new StoreProfile.Options()),
};
foreach (var command in ChatCommands.Create(pluginsOption))
{
    root.Subcommands.Add(command);
}

try
{
    return await root.Parse(args).InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = TimeSpan.FromSeconds(15) });
}
catch (Exception ex) when (ex is CliException or PluginsConfigurationException)
{
    // One plain line on stderr, never wrapped, so scripts and people read the same thing.
    await Console.Error.WriteLineAsync($"messenger: {ex.Message}");
    return ExitCodes.UsageError;
}
catch (StorageException ex)
{
    await Console.Error.WriteLineAsync($"messenger: storage: {ex.Message}");
    return ExitCodes.StorageFailed;
}
catch (Exception ex) when (ex is PeerLinkException or SignalingException)
{
    await Console.Error.WriteLineAsync($"messenger: connection: {ex.Message}");
    return ExitCodes.ConnectionFailed;
}
catch (OperationCanceledException)
{
    await Console.Error.WriteLineAsync("messenger: cancelled.");
    return ExitCodes.Cancelled;
}
