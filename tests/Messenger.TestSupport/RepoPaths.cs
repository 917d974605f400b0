namespace Messenger.TestSupport;

/// <summary>Paths inside the repository, found from the test's output folder.</summary>
public static class RepoPaths
{
    private static readonly Lazy<string> Root = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Messenger.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No Messenger.sln above {AppContext.BaseDirectory}.");
    });

    /// <summary>The repository root (the folder holding Messenger.sln).</summary>
    public static string RepoRoot => Root.Value;

    /// <summary>The build output folder of a plugin under <c>plugins/</c>.</summary>
    /// <param name="projectName">The plugin project's name.</param>
    /// <returns>The folder.</returns>
    public static string PluginFolder(string projectName) => Path.Combine(RepoRoot, "artifacts", "plugins", projectName);

    /// <summary>The build output folder of a test plugin under <c>tests/TestPlugins/</c>.</summary>
    /// <param name="projectName">The test plugin project's name.</param>
    /// <returns>The folder.</returns>
    public static string TestPluginFolder(string projectName) => Path.Combine(RepoRoot, "artifacts", "testplugins", projectName);
}

/// <summary>A temporary folder deleted on dispose.</summary>
public sealed class TempFolder : IDisposable
{
    /// <summary>Creates an empty folder under the system temp folder.</summary>
    public TempFolder() => Directory.CreateDirectory(Path);

    /// <summary>The folder.</summary>
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "messenger-tests-" + Guid.NewGuid().ToString("n"));

    /// <summary>A path inside the folder.</summary>
    /// <param name="name">The relative name.</param>
    /// <returns>The full path.</returns>
    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <inheritdoc />
    public void Dispose()
    {
        if (Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true);
        }
    }
}
