using System.CommandLine;
using Messenger.Contracts.Storage;
using Messenger.Host.Plugins;
using Messenger.Transport;
using Messenger.Transport.Signaling;
using Spectre.Console;

ConsoleSetup.Apply();

var pluginsOption = new Option<FileInfo?>("--plugins")
{
    Description = "The plugins.json to load (default: plugins.json in this folder or above).",
    Recursive = true,
};
var root = new RootCommand("""
    messenger: peer-to-peer chat with file transfer, previews and encrypted storage as plugins.

    Chat between two terminals: `messenger offer` and `messenger answer` (paste the codes across), or
    `messenger connect --room NAME` on both sides with `messenger signal` running somewhere both can reach.
    The store key comes from MESSENGER_STORE_PASSPHRASE, --key-file PATH, or a prompt; never from an argument.

    Exit codes: 0 ok; 1 failed; 2 bad arguments or input; 3 a plugin failed to load; 4 storage (wrong passphrase,
    missing key file, unreadable store); 5 connection (relay unreachable, peer not reached); 6 identity (the pairing
    code did not match, or the peer presented another identity than the one pinned for its name: nothing was
    exchanged); 130 cancelled (Ctrl-C).
    """)
{
    pluginsOption,
    DemoCommand.Create(pluginsOption),
    PluginsCommand.Create(pluginsOption),
    SignalCommand.Create(),
    HistoryCommand.Create(pluginsOption, new StoreProfile.Options()),
    ExportCommand.Create(pluginsOption, new StoreProfile.Options()),
    ExportCommand.CreateOpen(pluginsOption, new StoreProfile.Options()),
    FilesCommand.Create(pluginsOption, new StoreProfile.Options()),
    ContactsCommand.Whoami(pluginsOption, new StoreProfile.Options()),
    ContactsCommand.Contacts(pluginsOption, new StoreProfile.Options()),
};
foreach (var command in ChatCommands.Create(pluginsOption))
{
    root.Subcommands.Add(command);
}

try
{
    var parse = root.Parse(args);
    if (parse.Errors.Count > 0 && !args.Contains("--help") && !args.Contains("-h"))
    {
        // One line, not the usage screen: the user asked for something specific and needs to know what was wrong.
        var command = string.Join(' ', parse.CommandResult.Command == root ? ["messenger"] : new[] { "messenger", parse.CommandResult.Command.Name });
        await Console.Error.WriteLineAsync($"messenger: {string.Join("; ", parse.Errors.Select(e => e.Message.TrimEnd('.')))} (see {command} --help)");
        return ExitCodes.UsageError;
    }

    return await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = TimeSpan.FromSeconds(15) });
}
catch (Exception ex) when (ex is CliException or PluginsConfigurationException)
{
    // One plain line on stderr, never wrapped, so scripts and people read the same thing.
    await Console.Error.WriteLineAsync($"messenger: {ChatOutput.Clean(ex.Message)}");
    return ExitCodes.UsageError;
}
catch (StorageException ex)
{
    await Console.Error.WriteLineAsync($"messenger: storage: {ChatOutput.Clean(ex.Message)}");
    return ExitCodes.StorageFailed;
}
catch (Exception ex) when (ex is PeerLinkException or SignalingException)
{
    // Text from the relay or the peer can be in these messages: cleaned like everything else they send.
    await Console.Error.WriteLineAsync($"messenger: connection: {ChatOutput.Clean(ex.Message)}");
    return ExitCodes.ConnectionFailed;
}
catch (Exception ex) when (ex is IdentityMismatchException or Messenger.Transport.Pairing.PairingFailedException)
{
    await Console.Error.WriteLineAsync($"messenger: identity: {ChatOutput.Clean(ex.Message)}");
    return ExitCodes.IdentityRefused;
}
catch (OperationCanceledException)
{
    await Console.Error.WriteLineAsync("messenger: cancelled.");
    return ExitCodes.Cancelled;
}
catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException or FormatException)
{
    // Anything else that escaped a command: still one line (no stack trace on a person's screen), exit 1.
    await Console.Error.WriteLineAsync($"messenger: {ChatOutput.Clean(ex.Message)}");
    return ExitCodes.Failed;
}
finally
{
    // Never exit under a warm-up still running (see TransportWarmUp.WhenStartedAsync).
    await TransportWarmUp.WhenStartedAsync();
}
