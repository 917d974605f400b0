using System.Security.Cryptography;

namespace Messenger.Cli.Demo;

/// <summary>
/// Two peers in one process need two stores: each peer loads the operator's plugins.json with its stores moved into
/// the peer's own demo folder under a random key (nothing of the operator's data is touched).
/// </summary>
internal sealed class DemoPeerFiles : IDisposable
{
    private DemoPeerFiles(string root) => Root = root;

    public string Root { get; }

    public static DemoPeerFiles Create() =>
        new(Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "messenger-demo-" + Guid.NewGuid().ToString("n")[..8])).FullName);

    /// <summary>The peer's store settings: its own folder and a random key for this demo run, never the operator's data.</summary>
    public StoreSettings For(string peer)
    {
        var peerFolder = Directory.CreateDirectory(Path.Combine(Root, peer)).FullName;
        var keyFile = Path.Combine(peerFolder, "store.key");
        File.WriteAllText(keyFile, Convert.ToHexString(RandomNumberGenerator.GetBytes(32)));
        return new StoreSettings(peerFolder, () => ("keyFile", keyFile), report: null);
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
