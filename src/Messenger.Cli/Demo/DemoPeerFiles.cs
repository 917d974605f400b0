using System.Security.Cryptography;

namespace Messenger.Cli.Demo;

/// <summary>
/// Two peers in one process need two stores: the demo derives one plugins.json per peer from the operator's, with
/// folders made absolute and each plugin's data paths and store key moved into the peer's own demo folder.
/// </summary>
internal sealed class DemoPeerFiles : IDisposable
{
    private DemoPeerFiles(string root) => Root = root;

    public string Root { get; }

    public static DemoPeerFiles Create() =>
        new(Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "messenger-demo-" + Guid.NewGuid().ToString("n")[..8])).FullName);

    /// <summary>Writes the peer's plugins.json and returns its path.</summary>
    public string WriteFor(string peer, string pluginsFile)
    {
        var peerFolder = Directory.CreateDirectory(Path.Combine(Root, peer)).FullName;
        var keyFile = Path.Combine(peerFolder, "store.key");
        File.WriteAllText(keyFile, Convert.ToHexString(RandomNumberGenerator.GetBytes(32)));

        // A store: its own folder and a random key for this demo run, never the operator's data.
        var path = Path.Combine(peerFolder, "plugins.json");
        StorePluginsFile.Write(pluginsFile, path, peerFolder, ("keyFile", keyFile));
        return path;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: the OS temp cleaner takes what a still-open file kept.
        }
    }
}
