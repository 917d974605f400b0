using System.Reflection;
using McMaster.NETCore.Plugins;
using Messenger.Contracts;
using Messenger.Contracts.Plugins;
using Messenger.Contracts.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Messenger.Host.Plugins;

/// <summary>A plugin that loaded and added its services.</summary>
/// <param name="Name">Its name in <c>plugins.json</c>.</param>
/// <param name="AssemblyPath">Its main assembly.</param>
/// <param name="Version">Its assembly's informational or assembly version.</param>
/// <param name="ContractsMajor">The contracts major it was built against.</param>
/// <param name="Storage">Its storage declaration when it provides the stores, else null.</param>
public sealed record LoadedPlugin(string Name, string AssemblyPath, string Version, int ContractsMajor, StoragePluginAttribute? Storage = null);

/// <summary>
/// Chooses the settings a plugin is configured with, once its assembly is loaded and before its
/// <c>ConfigureServices</c> runs: the entry's own (<see cref="PluginEntry.Settings"/>) or the host's version of them
/// (say, a store pointed at the user's own folder).
/// </summary>
/// <param name="entry">The entry of <c>plugins.json</c>.</param>
/// <param name="storage">The plugin's storage declaration, or null when it declares none.</param>
/// <returns>The settings to hand the plugin.</returns>
public delegate IConfiguration PluginSettingsSelector(PluginEntry entry, StoragePluginAttribute? storage);

/// <summary>A plugin that was skipped, and why.</summary>
/// <param name="Name">Its name in <c>plugins.json</c>.</param>
/// <param name="AssemblyPath">The assembly it would have loaded.</param>
/// <param name="Reason">Why it was skipped, in words an operator can act on.</param>
public sealed record FailedPlugin(string Name, string AssemblyPath, string Reason);

/// <summary>
/// Loads the plugins named in <c>plugins.json</c>, each in its own load context sharing the contracts and the
/// Microsoft.Extensions abstractions with the host, and lets each add its services. A plugin that fails is recorded
/// and skipped; the others still load.
/// </summary>
public sealed partial class PluginCatalog
{
    private readonly List<LoadedPlugin> _loaded = [];
    private readonly List<FailedPlugin> _failed = [];
    private readonly List<string> _disabled = [];

    private PluginCatalog(string? source) => Source = source;

    /// <summary>The <c>plugins.json</c> the catalog came from, or null when no file was used.</summary>
    public string? Source { get; }

    /// <summary>Plugins that loaded.</summary>
    public IReadOnlyList<LoadedPlugin> Loaded => _loaded;

    /// <summary>Plugins that were skipped, with the reason.</summary>
    public IReadOnlyList<FailedPlugin> Failed => _failed;

    /// <summary>Names of entries with <c>"enabled": false</c>.</summary>
    public IReadOnlyList<string> Disabled => _disabled;

    /// <summary>An empty catalog, for a host that runs without plugins.</summary>
    /// <returns>The catalog.</returns>
    public static PluginCatalog Empty() => new(null);

    /// <summary>Loads every enabled plugin of <paramref name="file"/> and adds its services to <paramref name="services"/>.</summary>
    /// <param name="file">The parsed <c>plugins.json</c>.</param>
    /// <param name="services">The host's service collection.</param>
    /// <param name="logger">Told about each plugin loaded or skipped.</param>
    /// <param name="settings">Chooses each plugin's settings, or null for the entries' own.</param>
    /// <returns>What loaded and what was skipped.</returns>
    public static PluginCatalog Load(PluginsFile file, IServiceCollection services, ILogger logger, PluginSettingsSelector? settings = null)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(logger);
        var catalog = new PluginCatalog(file.Path);
        foreach (var entry in file.Entries)
        {
            if (!entry.Enabled)
            {
                catalog._disabled.Add(entry.Name);
                LogDisabled(logger, entry.Name);
                continue;
            }

            try
            {
                var loaded = LoadOne(entry, services, settings);
                catalog._loaded.Add(loaded);
                LogLoaded(logger, entry.Name, loaded.Version, entry.AssemblyPath);
            }
            catch (PluginLoadException ex)
            {
                catalog._failed.Add(new FailedPlugin(entry.Name, entry.AssemblyPath, ex.Message));
                LogSkipped(logger, entry.Name, entry.Location, ex.Message, ex.InnerException);
            }
        }

        return catalog;
    }

    private static LoadedPlugin LoadOne(PluginEntry entry, IServiceCollection services, PluginSettingsSelector? settingsSelector)
    {
        if (!Directory.Exists(entry.Folder))
        {
            throw new PluginLoadException($"its folder {entry.Folder} does not exist (is the plugin built?)");
        }

        if (!File.Exists(entry.AssemblyPath))
        {
            throw new PluginLoadException($"its assembly {entry.AssemblyPath} does not exist");
        }

        Assembly assembly;
        try
        {
            // Every assembly the host itself can load (the contracts, the Microsoft.Extensions abstractions, the
            // runtime) resolves to the host's copy when the plugin first needs it, so types crossing the boundary are
            // one type. Naming shared types here instead makes the loader pull each one's whole reference closure into
            // the host up front: measured, 35 assemblies (Xml, Http, Quic, Regex, ...), 12 of a fresh process's 102 MB.
            var loader = PluginLoader.CreateFromAssemblyFile(entry.AssemblyPath, config => config.PreferSharedTypes = true);
            assembly = loader.LoadDefaultAssembly();
        }
        catch (Exception ex) when (ex is IOException or BadImageFormatException or FileLoadException or InvalidOperationException)
        {
            throw new PluginLoadException($"its assembly could not be loaded: {ex.Message}", ex);
        }

        var attribute = ReadAttribute(assembly);
        CheckContractsVersion(assembly, attribute);
        var storage = ReadStorageAttribute(assembly);
        var entryPoint = CreateEntry(attribute.EntryType);
        var version = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? assembly.GetName().Version?.ToString()
            ?? "unknown";

        // Stage the plugin's registrations so a plugin that throws halfway leaves the host's collection untouched.
        // Outside the plugin's own try: what the host's selector throws (a store key that cannot be had, say) is the
        // host's error, not a reason to skip the plugin.
        var settings = settingsSelector?.Invoke(entry, storage) ?? entry.Settings;
        IServiceCollection staging = new ServiceCollection();
        foreach (var descriptor in services)
        {
            staging.Add(descriptor);
        }

        try
        {
            entryPoint.ConfigureServices(staging, settings);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            throw new PluginLoadException($"its ConfigureServices threw {ex.GetType().Name}: {ex.Message}", ex);
        }

        services.Clear();
        foreach (var descriptor in staging)
        {
            services.Add(descriptor);
        }

        return new LoadedPlugin(entry.Name, entry.AssemblyPath, version, attribute.ContractsMajor, storage);
    }

    private static StoragePluginAttribute? ReadStorageAttribute(Assembly assembly)
    {
        try
        {
            return assembly.GetCustomAttribute<StoragePluginAttribute>();
        }
        catch (Exception ex) when (ex is TypeLoadException or FileNotFoundException or FileLoadException or CustomAttributeFormatException)
        {
            throw new PluginLoadException($"its storage attribute could not be read: {ex.Message}", ex);
        }
    }

    private static MessengerPluginAttribute ReadAttribute(Assembly assembly)
    {
        try
        {
            return assembly.GetCustomAttribute<MessengerPluginAttribute>()
                ?? throw new PluginLoadException($"{assembly.GetName().Name} has no [assembly: MessengerPlugin(typeof(...))] naming its entry type");
        }
        catch (Exception ex) when (ex is TypeLoadException or FileNotFoundException or FileLoadException or CustomAttributeFormatException)
        {
            throw new PluginLoadException($"its plugin attribute could not be read: {ex.Message}", ex);
        }
    }

    private static void CheckContractsVersion(Assembly assembly, MessengerPluginAttribute attribute)
    {
        var referenced = assembly.GetReferencedAssemblies()
            .FirstOrDefault(a => string.Equals(a.Name, typeof(ContractsVersion).Assembly.GetName().Name, StringComparison.Ordinal));
        var builtAgainst = Math.Max(attribute.ContractsMajor, referenced?.Version?.Major ?? 0);
        if (builtAgainst > ContractsVersion.Major)
        {
            throw new PluginLoadException(
                $"it was built against Messenger.Contracts {builtAgainst}.x, newer than this host's {ContractsVersion.Current}; update Messenger to load it");
        }

        if (builtAgainst < ContractsVersion.Major)
        {
            throw new PluginLoadException(
                $"it was built against Messenger.Contracts {builtAgainst}.x, older than this host's {ContractsVersion.Current}; rebuild it against contracts {ContractsVersion.Major}");
        }
    }

    private static IMessengerPlugin CreateEntry(Type entryType)
    {
        if (!typeof(IMessengerPlugin).IsAssignableFrom(entryType))
        {
            throw new PluginLoadException($"its entry type {entryType.FullName} does not implement {nameof(IMessengerPlugin)}");
        }

        try
        {
            return (IMessengerPlugin)Activator.CreateInstance(entryType)!;
        }
        catch (Exception ex) when (ex is MissingMethodException or TargetInvocationException or MemberAccessException)
        {
            var cause = ex is TargetInvocationException { InnerException: { } inner } ? inner : ex;
            throw new PluginLoadException($"its entry type {entryType.FullName} could not be created: {cause.Message}", cause);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Plugin '{Name}' {Version} loaded from {Path}")]
    private static partial void LogLoaded(ILogger logger, string name, string version, string path);

    [LoggerMessage(Level = LogLevel.Error, Message = "Plugin '{Name}' ({Location}) was skipped: {Reason}")]
    private static partial void LogSkipped(ILogger logger, string name, string location, string reason, Exception? exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Plugin '{Name}' is disabled in plugins.json")]
    private static partial void LogDisabled(ILogger logger, string name);

    /// <summary>Why one plugin could not be loaded; caught per plugin so the others still load.</summary>
    private sealed class PluginLoadException : Exception
    {
        public PluginLoadException(string message)
            : base(message)
        {
        }

        public PluginLoadException(string message, Exception innerException)
            : base(message, innerException)
        {
        }
    }
}
