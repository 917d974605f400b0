using System.CommandLine;
using System.Text;
using Messenger.Contracts.Storage;
using Messenger.Host;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Messenger.Cli.Profile;

/// <summary>
/// Where a person's data lives (<c>--profile DIR</c>, else <c>$MESSENGER_HOME</c>, else ~/.local/share/messenger) and
/// how the store is unlocked: <c>--key-file PATH</c>, the <c>MESSENGER_STORE_PASSPHRASE</c> variable, or a prompt
/// without echo. Never a secret on the command line: it would show in <c>ps</c>.
/// </summary>
internal sealed class StoreProfile
{
    public const string PassphraseVariable = "MESSENGER_STORE_PASSPHRASE";
    public const string HomeVariable = "MESSENGER_HOME";
    private const int MaxPassphraseLength = 1024;

    private readonly FileInfo? _keyFile;
    private bool _prompted;

    private StoreProfile(string folder, string pluginsFile, FileInfo? keyFile)
    {
        Folder = folder;
        PluginsFile = pluginsFile;
        _keyFile = keyFile;
    }

    public string Folder { get; }

    /// <summary>The operator's plugins.json, which the host loads with the stores pointed at <see cref="Folder"/>.</summary>
    public string PluginsFile { get; }

    /// <summary>The options every command that opens the store takes.</summary>
    internal sealed class Options
    {
        public Option<DirectoryInfo?> Folder { get; } = new("--profile")
        {
            Description = $"The folder holding your store and downloads (default: ${HomeVariable}, else ~/.local/share/messenger).",
        };

        public Option<FileInfo?> KeyFile { get; } = new("--key-file")
        {
            Description = "A file holding the store's raw 32-byte key (binary or 64 hex characters) instead of a passphrase.",
        };

        // Present only to refuse it with a reason; a value on argv is visible to every user through ps.
        public Option<string?> Passphrase { get; } = new("--passphrase") { Hidden = true };

        public void AddTo(Command command)
        {
            command.Options.Add(Folder);
            command.Options.Add(KeyFile);
            command.Options.Add(Passphrase);
        }
    }

    /// <summary>Resolves the folder; the key is asked for only when a store that needs one is loaded (see <see cref="OpenHost"/>).</summary>
    public static StoreProfile Resolve(ParseResult parse, Options options, string operatorPluginsFile)
    {
        if (parse.GetResult(options.Passphrase) is not null)
        {
            throw new CliException($"--passphrase is refused: a passphrase on the command line shows in ps. Set {PassphraseVariable}, use --key-file PATH, or type it at the prompt.");
        }

        var folder = parse.GetValue(options.Folder)?.FullName
            ?? (Environment.GetEnvironmentVariable(HomeVariable) is { Length: > 0 } home ? Path.GetFullPath(home) : null)
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share", "messenger");
        try
        {
            Directory.CreateDirectory(folder);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"--profile: cannot use {folder}: {ex.Message}");
        }

        return new StoreProfile(folder, operatorPluginsFile, parse.GetValue(options.KeyFile));
    }

    /// <summary>The key setting a store that needs one is given: the key file, the variable, or a passphrase typed now.</summary>
    private (string Name, string Value) KeySetting()
    {
        if (_keyFile is { } keyFile)
        {
            return keyFile.Exists
                ? ("keyFile", keyFile.FullName)
                : throw new StorageKeyException($"The key file {keyFile.FullName} does not exist.");
        }

        if (Environment.GetEnvironmentVariable(PassphraseVariable) is { Length: > 0 })
        {
            return ("passphraseEnvironmentVariable", PassphraseVariable);
        }

        if (Console.IsInputRedirected || _prompted)
        {
            throw new StorageKeyException($"No store key: set {PassphraseVariable}, pass --key-file PATH, or run in a terminal to be asked.");
        }

        var isNew = !Directory.EnumerateDirectories(Folder).Any(store => File.Exists(Path.Combine(store, "messenger.db")));
        var passphrase = Prompt($"Store passphrase for {Folder}: ");
        if (isNew && Prompt("New store: type it again: ") != passphrase)
        {
            throw new StorageKeyException("The two passphrases differ.");
        }

        // In this process only, and removed as soon as the store is open (see OpenHost).
        _prompted = true;
        Environment.SetEnvironmentVariable(PassphraseVariable, passphrase);
        return ("passphraseEnvironmentVariable", PassphraseVariable);
    }

    /// <summary>Builds the host and opens the store now, so a wrong key fails at start with exit code 4.</summary>
    public IHost OpenHost(Action<HostApplicationBuilder>? configure = null)
    {
        // A replaced setting is said once, on stderr (stdout belongs to the chat and to --json lines).
        var settings = new StoreSettings(Folder, KeySetting, note => Console.Error.WriteLine($"messenger: note: {note}"));
        var builder = MessengerHost.CreateBuilder(PluginsFile, bootstrapLogger: NullLogger.Instance, pluginSettings: settings.Select);

        // Logs go to stderr: stdout belongs to the chat (and to --json lines).
        builder.Logging.ClearProviders().SetMinimumLevel(LogLevel.Warning)
            .AddSimpleConsole(o => o.SingleLine = true)
            .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        configure?.Invoke(builder);
        var host = builder.BuildMessengerHost();
        try
        {
            _ = host.Services.GetServices<IMessageStore>().LastOrDefault();
        }
        catch
        {
            host.Dispose();
            throw;
        }
        finally
        {
            Environment.SetEnvironmentVariable(PassphraseVariable, null);
        }

        return host;
    }

    private static string Prompt(string label)
    {
        Console.Error.Write(label);
        var text = new StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter)
            {
                break;
            }

            if (key.Key == ConsoleKey.Backspace)
            {
                text.Length = Math.Max(0, text.Length - 1);
            }
            else if (key.KeyChar != '\0' && !char.IsControl(key.KeyChar) && text.Length < MaxPassphraseLength)
            {
                text.Append(key.KeyChar);
            }
        }

        Console.Error.WriteLine();
        return text.Length > 0 ? text.ToString() : throw new StorageKeyException("An empty passphrase is not allowed.");
    }
}
