using Messenger.Plugins.Storage.Sqlite;
using Microsoft.Extensions.Configuration;

namespace Messenger.Plugins.Storage.Folder;

/// <summary>Where the folder store keeps its index and puts received files.</summary>
public sealed class FolderStoreOptions
{
    /// <summary>The folder for the index database; defaults to <c>Messenger/folder-store</c> under the user's local application data.</summary>
    public string Path { get; set; } = System.IO.Path.Combine(
        Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "Messenger", "folder-store");

    /// <summary>The folder received files are moved into; defaults to <c>Downloads/Messenger</c> in the user's home.</summary>
    public string DownloadsPath { get; set; } = System.IO.Path.Combine(
        Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), "Downloads", "Messenger");

    /// <summary>Reads the plugin's <c>settings</c>: path and downloadsPath (~ is the home folder; %VAR% expands).</summary>
    /// <param name="settings">The plugin's settings section.</param>
    public void Bind(IConfiguration settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        Path = settings["path"] is { Length: > 0 } path ? ConfiguredPath.Resolve(path) : Path;
        DownloadsPath = settings["downloadsPath"] is { Length: > 0 } downloads ? ConfiguredPath.Resolve(downloads) : DownloadsPath;
    }
}
