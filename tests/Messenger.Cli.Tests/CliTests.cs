using Messenger.TestSupport;

namespace Messenger.Cli.Tests;

public class CliTests
{
    [Fact]
    public async Task Demo_WithRepositoryPlugins_SendsPreviewedFilesThatVerify_AndShowsStoredHistory()
    {
        var (exit, output) = await MessengerProcess.RunAsync(RepoPaths.RepoRoot, "demo", "--size", "8MB", "--messages", "3", "--plugins", Path.Combine(RepoPaths.RepoRoot, "plugins.json"));

        Assert.True(exit == 0, output);
        Assert.Contains("Bob received: Hello Bob, this is Alice.", output, StringComparison.Ordinal);
        Assert.Contains("Bob is offered holiday-photo.jpg", output, StringComparison.Ordinal);
        Assert.Contains("of a 4000×3000 image/jpeg", output, StringComparison.Ordinal);
        Assert.Contains("of a 1280×720 video/mp4, 4.0 s", output, StringComparison.Ordinal);
        Assert.Contains("archive.bin", output, StringComparison.Ordinal);
        Assert.Contains("8,000,000", output, StringComparison.Ordinal);
        Assert.Contains("Bob's stored history with Alice", output, StringComparison.Ordinal);
        Assert.Contains("Demo finished: every file arrived and verified.", output, StringComparison.Ordinal);
        Assert.DoesNotContain("failed", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Demo_WithAGivenFile_SendsThatFile()
    {
        using var temp = new TempFolder();
        var file = temp.File("notes.txt");
        File.WriteAllText(file, string.Concat(Enumerable.Repeat("Messenger demo file. ", 5000)));

        var (exit, output) = await MessengerProcess.RunAsync(RepoPaths.RepoRoot, "demo", "--file", file, "--messages", "2");

        Assert.True(exit == 0, output);
        Assert.Contains("Bob is offered notes.txt", output, StringComparison.Ordinal);
        Assert.Contains("Demo finished: every file arrived and verified.", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Demo_WithoutTheFileTransferPlugin_ChatsDuringABulkStreamInstead()
    {
        using var temp = new TempFolder();
        var file = temp.File("plugins.json");
        File.WriteAllText(file, $$"""
            { "plugins": [
              { "name": "ReadReceipts", "folder": "{{RepoPaths.PluginFolder("Messenger.Plugins.ReadReceipts")}}" },
              { "name": "FileTransfer", "folder": "{{RepoPaths.PluginFolder("Messenger.Plugins.FileTransfer")}}", "enabled": false }
            ] }
            """);

        var (exit, output) = await MessengerProcess.RunAsync(temp.Path, "demo", "--plugins", file, "--size", "20MB", "--messages", "3");

        Assert.True(exit == 0, output);
        Assert.Contains("No file-transfer plugin loaded", output, StringComparison.Ordinal);
        Assert.Matches(@"bulk bytes received by Bob\s*│\s*20,0\d\d,\d\d\d", output);
        Assert.Contains("No storage plugin loaded", output, StringComparison.Ordinal);
        Assert.Contains("Demo finished.", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Plugins_ListsEveryPluginOfTheRepositoryFile_FoundFromTheWorkingFolder()
    {
        var (exit, output) = await MessengerProcess.RunAsync(RepoPaths.RepoRoot, "plugins");

        Assert.True(exit == 0, output);
        foreach (var name in new[] { "Storage", "Preview.Image", "Preview.Video", "FileTransfer", "ReadReceipts" })
        {
            Assert.Contains(name, output, StringComparison.Ordinal);
        }

        Assert.Contains("loaded", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Plugins_WithABrokenPlugin_ExitsThreeAndSaysWhy()
    {
        using var temp = new TempFolder();
        var file = temp.File("plugins.json");
        File.WriteAllText(file, $$"""{ "plugins": [ { "name": "Ghost", "folder": "{{temp.File("nowhere")}}" } ] }""");

        var (exit, output) = await MessengerProcess.RunAsync(temp.Path, "plugins", "--plugins", file);

        Assert.Equal(3, exit);
        Assert.Contains("Ghost", output, StringComparison.Ordinal);
        Assert.Contains("does not exist", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("demo", "--size", "lots")]
    [InlineData("demo", "--size", "10XB")]
    [InlineData("demo", "--messages", "0")]
    [InlineData("demo", "--file", "/nonexistent/file.bin")]
    [InlineData("plugins", "--plugins", "/nonexistent/plugins.json")]
    public async Task BadArguments_GiveOneClearLine_AndExitTwo(params string[] args)
    {
        var (exit, output) = await MessengerProcess.RunAsync(RepoPaths.RepoRoot, args);

        Assert.Equal(2, exit);
        var line = Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("messenger: ", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MalformedPluginsFile_GivesOneLineNamingTheEntry()
    {
        using var temp = new TempFolder();
        var file = temp.File("plugins.json");
        File.WriteAllText(file, """{ "plugins": [ { "name": "A" } ] }""");

        var (exit, output) = await MessengerProcess.RunAsync(temp.Path, "plugins", "--plugins", file);

        Assert.Equal(2, exit);
        Assert.Contains("plugins[0] (\"A\"): \"folder\" is required", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_ExplainsTheCommands()
    {
        var (exit, output) = await MessengerProcess.RunAsync(RepoPaths.RepoRoot, "--help");

        Assert.Equal(0, exit);
        Assert.Contains("demo", output, StringComparison.Ordinal);
        Assert.Contains("plugins", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownCommand_FailsWithUsage()
    {
        var (exit, output) = await MessengerProcess.RunAsync(RepoPaths.RepoRoot, "teleport");

        Assert.NotEqual(0, exit);
        Assert.Contains("teleport", output, StringComparison.Ordinal);
    }
}
