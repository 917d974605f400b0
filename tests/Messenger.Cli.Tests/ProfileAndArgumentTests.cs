using Messenger.TestSupport;

namespace Messenger.Cli.Tests;

/// <summary>The store key never comes from argv; every key or argument problem is one line on stderr and a meaningful exit code.</summary>
public class ProfileAndArgumentTests
{
    [Fact]
    public async Task History_WrongPassphrase_OneLineAndExitFour()
    {
        using var temp = new TempFolder();
        var profile = temp.File("me");
        var (exit, output) = await RunWithPassphraseAsync(temp, "right horse battery", "history", "--profile", profile);
        Assert.True(exit == 0, output);

        (exit, output) = await RunWithPassphraseAsync(temp, "wrong horse battery", "history", "--profile", profile);

        Assert.Equal(4, exit);
        Assert.Equal("messenger: storage: Wrong passphrase or not a Messenger store.", Assert.Single(Lines(output)));
    }

    [Fact]
    public async Task History_RightPassphraseFromTheEnvironment_OpensTheStore()
    {
        using var temp = new TempFolder();
        var profile = temp.File("me");
        await RunWithPassphraseAsync(temp, "correct staple", "history", "--profile", profile);

        var (exit, output) = await RunWithPassphraseAsync(temp, "correct staple", "history", "--profile", profile);

        Assert.True(exit == 0, output);
        Assert.Contains("No messages or files stored in", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task History_MissingKeyFile_OneLineAndExitFour()
    {
        using var temp = new TempFolder();

        var (exit, output) = await MessengerProcess.RunAsync(temp.Path, "history", "--profile", temp.File("me"), "--key-file", temp.File("nope.key"), "--plugins", ChatCommandTests.RepoPlugins);

        Assert.Equal(4, exit);
        Assert.Equal($"messenger: storage: The key file {temp.File("nope.key")} does not exist.", Assert.Single(Lines(output)));
    }

    [Fact]
    public async Task History_NoKeyAndNoTerminal_SaysHowToGiveOne()
    {
        using var temp = new TempFolder();

        var (exit, output) = await MessengerProcess.RunAsync(temp.Path, "history", "--profile", temp.File("me"), "--plugins", ChatCommandTests.RepoPlugins);

        Assert.Equal(4, exit);
        Assert.Contains("MESSENGER_STORE_PASSPHRASE", Assert.Single(Lines(output)), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("history")]
    [InlineData("connect", "--room", "r")]
    [InlineData("offer")]
    [InlineData("export", "id", "/tmp/x")]
    public async Task PassphraseOnTheCommandLine_IsRefused(params string[] args)
    {
        using var temp = new TempFolder();

        var (exit, output) = await MessengerProcess.RunAsync(temp.Path, [.. args, "--passphrase", "hunter2", "--profile", temp.File("me"), "--plugins", ChatCommandTests.RepoPlugins]);

        Assert.Equal(2, exit);
        var line = Assert.Single(Lines(output));
        Assert.StartsWith("messenger: --passphrase is refused: a passphrase on the command line shows in ps.", line, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("connect")]
    [InlineData("connect", "--room", "r", "--relay", "nowhere")]
    [InlineData("connect", "--room", "r", "--relay", "host:99999")]
    [InlineData("connect", "--room", "r", "--bind", "not-an-ip")]
    [InlineData("connect", "--room", "")]
    [InlineData("offer", "--peer", "")]
    [InlineData("answer", "--teleport")]
    [InlineData("export", "only-an-id")]
    [InlineData("history", "--limit", "0")]
    [InlineData("history", "--limit", "many")]
    public async Task BadArguments_OneLineAndExitTwo(params string[] args)
    {
        using var temp = new TempFolder();
        var key = temp.File("k");
        File.WriteAllText(key, new string('a', 64));

        var (exit, output) = await MessengerProcess.RunAsync(temp.Path, [.. args, "--profile", temp.File("me"), "--key-file", key, "--plugins", ChatCommandTests.RepoPlugins]);

        Assert.Equal(2, exit);
        Assert.StartsWith("messenger: ", Assert.Single(Lines(output)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Export_UnknownId_OneLineAndExitTwo()
    {
        using var temp = new TempFolder();
        var key = temp.File("k");
        File.WriteAllText(key, new string('b', 64));

        var (exit, output) = await MessengerProcess.RunAsync(temp.Path, "export", "no-such-transfer", temp.File("out"), "--profile", temp.File("me"), "--key-file", key, "--plugins", ChatCommandTests.RepoPlugins);

        Assert.Equal(2, exit);
        Assert.Contains("No transfer or stored file has the id no-such-transfer", Assert.Single(Lines(output)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connect_NoRelayListening_OneLineAndExitFive()
    {
        using var temp = new TempFolder();
        var key = temp.File("k");
        File.WriteAllText(key, new string('c', 64));
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var (exit, output) = await MessengerProcess.RunAsync(temp.Path, "connect", "--room", "r", "--relay", $"127.0.0.1:{port}", "--json", "--profile", temp.File("me"), "--key-file", key, "--plugins", ChatCommandTests.RepoPlugins);

        Assert.Equal(5, exit);
        Assert.StartsWith($"messenger: connection: cannot reach the signaling relay at 127.0.0.1:{port}", Assert.Single(Lines(output)), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("offer")]
    [InlineData("answer")]
    [InlineData("connect")]
    [InlineData("history")]
    [InlineData("export")]
    public async Task EveryCommand_ExplainsItselfWithHelp(string command)
    {
        var (exit, output) = await MessengerProcess.RunAsync(RepoPaths.RepoRoot, command, "--help");

        Assert.Equal(0, exit);
        Assert.Contains("--profile", output, StringComparison.Ordinal);
        Assert.Contains("--key-file", output, StringComparison.Ordinal);
        Assert.DoesNotContain("--passphrase", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RootHelp_ListsTheExitCodes()
    {
        var (exit, output) = await MessengerProcess.RunAsync(RepoPaths.RepoRoot, "--help");

        Assert.Equal(0, exit);
        foreach (var command in new[] { "offer", "answer", "connect", "signal", "history", "export", "plugins", "demo" })
        {
            Assert.Contains(command, output, StringComparison.Ordinal);
        }

        Assert.Contains("130", output, StringComparison.Ordinal);
        Assert.Contains("4 ", output, StringComparison.Ordinal);
    }

    private static string[] Lines(string output) => output.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    private static async Task<(int ExitCode, string Output)> RunWithPassphraseAsync(TempFolder temp, string passphrase, params string[] args)
    {
        await using var process = RunningMessenger.Start("cli", new Dictionary<string, string?> { ["MESSENGER_STORE_PASSPHRASE"] = passphrase }, [.. args, "--plugins", ChatCommandTests.RepoPlugins]);
        process.CloseInput();
        var exit = await process.WaitForExitAsync();
        return (exit, process.Stdout + process.Stderr);
    }
}
