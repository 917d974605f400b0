namespace Messenger.Plugins.FileTransfer.Tests;

/// <summary>A folder under the temp directory, deleted with the test.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ft-tests-" + Guid.NewGuid().ToString("n"));

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    /// <summary>Writes a file of pattern bytes (position-dependent, so misordered chunks show).</summary>
    public string WritePatternFile(string name, long size, int seed = 1)
    {
        var path = Combine(name);
        File.WriteAllBytes(path, PatternStream.Bytes(size, seed));
        return path;
    }

    public void Dispose()
    {
        if (Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true);
        }
    }
}
