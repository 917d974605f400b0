using System.CommandLine;
using Messenger.Cli;
using Messenger.Host.Plugins;
using Spectre.Console;

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
};

try
{
    return await root.Parse(args).InvokeAsync();
}
catch (Exception ex) when (ex is CliException or PluginsConfigurationException)
{
    AnsiConsole.MarkupLine($"[red]messenger: {Markup.Escape(ex.Message)}[/]");
    return ExitCodes.UsageError;
}
catch (OperationCanceledException)
{
    AnsiConsole.MarkupLine("[yellow]messenger: cancelled.[/]");
    return ExitCodes.Cancelled;
}
