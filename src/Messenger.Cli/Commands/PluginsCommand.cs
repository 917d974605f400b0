using System.CommandLine;
using Messenger.Host;
using Messenger.Host.Plugins;
using Microsoft.Extensions.Logging.Abstractions;
using Spectre.Console;

namespace Messenger.Cli.Commands;

/// <summary><c>messenger plugins</c>: what plugins.json loads, from where, which versions, and what failed and why.</summary>
internal static class PluginsCommand
{
    public static Command Create(Option<FileInfo?> pluginsOption)
    {
        var command = new Command("plugins", "List the plugins plugins.json names: loaded (with version and folder), disabled, and failed with the reason.");
        command.SetAction(parse =>
        {
            var file = CliPaths.ResolvePluginsFile(parse.GetValue(pluginsOption));
            var catalog = MessengerHost.InspectPlugins(file, NullLogger.Instance);
            Render(catalog);
            return catalog.Failed.Count == 0 ? ExitCodes.Ok : ExitCodes.PluginsFailed;
        });
        return command;
    }

    public static void Render(PluginCatalog catalog)
    {
        var table = new Table().Title($"Plugins from {Markup.Escape(catalog.Source ?? "(none)")}")
            .AddColumn("Plugin").AddColumn("State").AddColumn("Version").AddColumn("Where / why");
        foreach (var plugin in catalog.Loaded)
        {
            var store = plugin.Storage switch
            {
                { RequiresKey: true } => " (store: needs a key)",
                { RequiresKey: false } => " (store: no key)",
                null => "",
            };
            table.AddRow(Markup.Escape(plugin.Name), "[green]loaded[/]" + store, Markup.Escape(plugin.Version), Markup.Escape(plugin.AssemblyPath));
        }

        foreach (var name in catalog.Disabled)
        {
            table.AddRow(Markup.Escape(name), "[grey]disabled[/]", "", "");
        }

        foreach (var plugin in catalog.Failed)
        {
            table.AddRow(Markup.Escape(plugin.Name), "[red]failed[/]", "", Markup.Escape(plugin.Reason));
        }

        AnsiConsole.Write(table);
    }
}
