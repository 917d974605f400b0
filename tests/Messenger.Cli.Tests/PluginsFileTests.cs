using Messenger.TestSupport;

namespace Messenger.Cli.Tests;

/// <summary>
/// The operator's plugins.json as the CLI uses it: stores go to the profile (and say so when the file wanted them
/// elsewhere), a store that needs no key is never asked for one, and every error names the file that was edited.
/// </summary>
public class PluginsFileTests
{
    private static string FolderStore => RepoPaths.PluginFolder("Messenger.Plugins.Storage.Folder");

    [Fact]
    public async Task History_WithTheFolderStore_AsksForNoKey()
    {
        using var temp = new TempFolder();
        var plugins = Write(temp, $$"""
            { "plugins": [ { "name": "Storage", "folder": "{{FolderStore}}" } ] }
            """);

        // No MESSENGER_STORE_PASSPHRASE, no --key-file, no terminal: the SQLCipher store would stop here with exit 4.
        var (exit, output) = await MessengerProcess.RunAsync(temp.Path, "history", "--profile", temp.File("me"), "--plugins", plugins);

        Assert.True(exit == 0, output);
        Assert.Contains("No messages or files stored in", output, StringComparison.Ordinal);
        Assert.True(Directory.Exists(temp.File("me/Storage")), "the store was not made in the profile folder");
    }

    [Fact]
    public async Task History_StorePathSetInThePluginsFile_IsReportedWithItsLineAndColumn_AndTheProfileIsUsed()
    {
        using var temp = new TempFolder();
        var elsewhere = temp.File("elsewhere");
        var plugins = Write(temp, $$"""
            {
              "plugins": [
                {
                  "name": "Storage",
                  "folder": "{{FolderStore}}",
                  "settings": { "path": "{{elsewhere}}" }
                }
              ]
            }
            """);

        var (exit, output) = await MessengerProcess.RunAsync(temp.Path, "history", "--profile", temp.File("me"), "--plugins", plugins);

        Assert.True(exit == 0, output);
        Assert.Contains($"messenger: note: {plugins}:6:21: the Storage store's \"path\" ({elsewhere}) is not used: your profile folder holds it, {temp.File("me/Storage")}", output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(elsewhere));
        Assert.True(Directory.Exists(temp.File("me/Storage")));
    }

    [Fact]
    public async Task History_TheRepositorysPluginsFile_ReportsNoReplacedSetting()
    {
        using var temp = new TempFolder();

        var (_, output) = await MessengerProcess.RunAsync(temp.Path, "history", "--profile", temp.File("me"), "--plugins", ChatCommandTests.RepoPlugins);

        Assert.DoesNotContain("note:", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("history")]
    [InlineData("files")]
    [InlineData("connect", "--room", "r")]
    public async Task BadPluginsFile_TheErrorNamesTheEditedFileAtLineAndColumn_NeverADerivedCopy(params string[] command)
    {
        using var temp = new TempFolder();
        var plugins = Write(temp, $$"""
            {
              "plugins": [
                { "name": "Storage", "folder": "{{FolderStore}}", "enabled": "yes" }
              ]
            }
            """);
        var column = 4 + $$"""{ "name": "Storage", "folder": "{{FolderStore}}", """.Length + 1;

        var (exit, output) = await MessengerProcess.RunAsync(temp.Path, [.. command, "--profile", temp.File("me"), "--plugins", plugins]);

        Assert.Equal(2, exit);
        Assert.Equal($"messenger: {plugins}:3:{column}: plugins[0] (\"Storage\"): \"enabled\" must be true or false, not a string.", output.Trim());
    }

    private static string Write(TempFolder temp, string json)
    {
        var path = temp.File("plugins.json");
        File.WriteAllText(path, json);
        return path;
    }
}
