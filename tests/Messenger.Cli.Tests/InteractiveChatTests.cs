using System.Diagnostics;
using Messenger.TestSupport;
using Xunit.Abstractions;

namespace Messenger.Cli.Tests;

/// <summary>
/// A person at a terminal: Alice runs <c>messenger connect</c> inside tmux (a real pseudo-terminal, so Spectre.Console
/// draws its live progress bars), keys are typed with <c>send-keys</c> and the screen is read with <c>capture-pane</c>.
/// Bob is a <c>--json</c> process the test drives. tmux runs on its own socket, so no user session is touched.
/// </summary>
public class InteractiveChatTests(ITestOutputHelper log)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Connect_InATerminal_TypingSends_SendShowsAProgressBar_TransfersHistoryAndQuitWork()
    {
        using var temp = new TempFolder();
        var big = ChatCommandTests.WriteRandomFile(temp.File("big.bin"), 30_000_000);
        await using var relay = await ChatCommandTests.Relay.StartAsync();
        var (aliceProfile, aliceKey) = ChatCommandTests.NewProfile(temp, "alice");
        var (bobProfile, bobKey) = ChatCommandTests.NewProfile(temp, "bob");
        await using var bob = RunningMessenger.Start("bob", null, "connect", "--room", "porch", "--relay", relay.Address, "--bind", "127.0.0.1", "--json", "--auto-accept", "--profile", bobProfile, "--key-file", bobKey);
        var exitFile = temp.File("alice.exit");
        var aliceCommand = string.Join(' ', new[]
        {
            "env -u NO_COLOR -u COLUMNS LANG=C.UTF-8 TERM=xterm-256color dotnet", Quote(MessengerProcess.Dll), "connect", "--room porch", "--peer porch",
            "--relay", relay.Address, "--bind 127.0.0.1", "--profile", Quote(aliceProfile), "--key-file", Quote(aliceKey),
            "--plugins", Quote(ChatCommandTests.RepoPlugins),
        }) + $"; echo EXIT=$? > {Quote(exitFile)}; sleep 120";
        await using var tmux = await Tmux.StartAsync(aliceCommand, RepoPaths.RepoRoot);
        try
        {
            await tmux.WaitForScreenAsync(s => s.Contains("Connected to porch", StringComparison.Ordinal));
            await bob.NextEventAsync("connected");

            await tmux.TypeAsync("hello from a terminal");
            Assert.Equal("hello from a terminal", (string?)(await bob.NextEventAsync("chat-received"))["text"]);
            await bob.SendAsync("hi terminal");
            await tmux.WaitForScreenAsync(s => s.Contains("porch: hi terminal", StringComparison.Ordinal));

            await tmux.TypeAsync($"/send {big}");
            await tmux.WaitForScreenAsync(s => s.Contains("Preparing big.bin (30 MB) for its offer", StringComparison.Ordinal));
            await tmux.WaitForScreenAsync(s => s.Contains("⇡ big.bin", StringComparison.Ordinal) && s.Contains('━') && s.Contains('%'));
            log.WriteLine("While sending:\n" + await tmux.ScreenAsync());
            await bob.NextEventAsync("transfer-completed");
            await tmux.WaitForScreenAsync(s => s.Contains("Sent big.bin", StringComparison.Ordinal) && s.Contains("100%", StringComparison.Ordinal));

            await tmux.TypeAsync("/transfers");
            await tmux.WaitForScreenAsync(s => s.Contains("big.bin  30 MB  Completed 100%", StringComparison.Ordinal));
            await tmux.TypeAsync("/history");
            await tmux.WaitForScreenAsync(s => s.Contains("you: hello from a terminal", StringComparison.Ordinal) && s.Contains("porch: hi terminal", StringComparison.Ordinal));
            await tmux.TypeAsync("/help");
            await tmux.WaitForScreenAsync(s => s.Contains("/accept ID", StringComparison.Ordinal));
            log.WriteLine("Before quitting:\n" + await tmux.ScreenAsync());

            await tmux.TypeAsync("/quit");
            await Tmux.WaitForAsync(() => Task.FromResult(File.Exists(exitFile) && File.ReadAllText(exitFile).Trim().Length > 0), "Alice's exit code");
            Assert.Equal("EXIT=0", File.ReadAllText(exitFile).Trim());
            await bob.NextEventAsync("disconnected");
            Assert.Equal(0, await bob.WaitForExitAsync());
        }
        catch
        {
            log.WriteLine("Screen at failure:\n" + await tmux.ScreenAsync());
            throw;
        }
    }

    [Fact]
    public async Task History_InATerminal_AsksForThePassphraseWithoutEcho_TwiceForANewStore_AndRefusesAWrongOne()
    {
        using var temp = new TempFolder();
        var profile = temp.File("me");
        var exitFile = temp.File("exit");
        string Command(string marker) =>
            $"env -u MESSENGER_STORE_PASSPHRASE -u NO_COLOR LANG=C.UTF-8 TERM=xterm-256color dotnet {Quote(MessengerProcess.Dll)} history --profile {Quote(profile)} --plugins {Quote(ChatCommandTests.RepoPlugins)}; echo {marker}=$? >> {Quote(exitFile)}; sleep 120";
        string Exit() => File.Exists(exitFile) ? File.ReadAllText(exitFile) : "";

        await using (var tmux = await Tmux.StartAsync(Command("FIRST"), temp.Path))
        {
            await tmux.WaitForScreenAsync(s => s.Contains("Store passphrase for", StringComparison.Ordinal));
            await tmux.TypeAsync("sesame-secret-1");
            await tmux.WaitForScreenAsync(s => s.Contains("New store: type it again:", StringComparison.Ordinal));
            await tmux.TypeAsync("sesame-secret-1");
            await Tmux.WaitForAsync(() => Task.FromResult(Exit().Contains("FIRST=", StringComparison.Ordinal)), "the first run to end");
            var screen = await tmux.ScreenAsync();
            Assert.Contains("No messages or files stored in", screen, StringComparison.Ordinal);
            Assert.DoesNotContain("sesame", screen, StringComparison.Ordinal);
            Assert.Contains("FIRST=0", Exit(), StringComparison.Ordinal);
        }

        await using (var tmux = await Tmux.StartAsync(Command("SECOND"), temp.Path))
        {
            await tmux.WaitForScreenAsync(s => s.Contains("Store passphrase for", StringComparison.Ordinal));
            await tmux.TypeAsync("not-the-secret");
            await Tmux.WaitForAsync(() => Task.FromResult(Exit().Contains("SECOND=", StringComparison.Ordinal)), "the second run to end");
            var screen = await tmux.ScreenAsync();
            Assert.Contains("messenger: storage: Wrong passphrase or not a Messenger store.", screen, StringComparison.Ordinal);
            Assert.DoesNotContain("not-the-secret", screen, StringComparison.Ordinal);
            Assert.Contains("SECOND=4", Exit(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task History_InATerminal_WithTheFolderStore_AsksForNoPassphrase()
    {
        using var temp = new TempFolder();
        var plugins = temp.File("plugins.json");
        File.WriteAllText(plugins, $$"""{ "plugins": [ { "name": "Storage", "folder": "{{RepoPaths.PluginFolder("Messenger.Plugins.Storage.Folder")}}" } ] }""");
        var exitFile = temp.File("exit");
        var command = $"env -u MESSENGER_STORE_PASSPHRASE -u NO_COLOR LANG=C.UTF-8 TERM=xterm-256color dotnet {Quote(MessengerProcess.Dll)} history --profile {Quote(temp.File("me"))} --plugins {Quote(plugins)}; echo EXIT=$? > {Quote(exitFile)}; sleep 120";

        await using var tmux = await Tmux.StartAsync(command, temp.Path);
        await Tmux.WaitForAsync(() => Task.FromResult(File.Exists(exitFile) && File.ReadAllText(exitFile).Trim().Length > 0), "history to end");

        var screen = await tmux.ScreenAsync();
        Assert.Contains("No messages or files stored in", screen, StringComparison.Ordinal);
        Assert.DoesNotContain("passphrase", screen, StringComparison.OrdinalIgnoreCase);
        Assert.Equal("EXIT=0", File.ReadAllText(exitFile).Trim());
    }

    private static string Quote(string path) => "'" + path.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>One tmux server on a private socket with one session.</summary>
    private sealed class Tmux : IAsyncDisposable
    {
        private readonly string _socket = "messenger-test-" + Guid.NewGuid().ToString("n")[..12];

        public static async Task<Tmux> StartAsync(string command, string workingDirectory)
        {
            var tmux = new Tmux();
            await tmux.RunAsync("new-session", "-d", "-s", "chat", "-x", "160", "-y", "50", "-c", workingDirectory, command);
            return tmux;
        }

        public Task TypeAsync(string text) => RunAsync("send-keys", "-t", "chat", "-l", text).ContinueWith(_ => RunAsync("send-keys", "-t", "chat", "Enter"), TaskScheduler.Default).Unwrap();

        public Task<string> ScreenAsync() => RunAsync("capture-pane", "-p", "-t", "chat");

        public async Task WaitForScreenAsync(Func<string, bool> condition)
        {
            var screen = "";
            try
            {
                await WaitForAsync(
                    async () =>
                    {
                        screen = await ScreenAsync();
                        return condition(screen);
                    },
                    "the screen");
            }
            catch (TimeoutException ex)
            {
                throw new TimeoutException($"{ex.Message}\nScreen:\n{screen}", ex);
            }
        }

        /// <summary>Polls a condition on a timer, bounded: the terminal has no event to wait on.</summary>
        public static async Task WaitForAsync(Func<Task<bool>> condition, string what)
        {
            using var limit = new CancellationTokenSource(Wait);
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
            while (!await condition())
            {
                try
                {
                    await timer.WaitForNextTickAsync(limit.Token);
                }
                catch (OperationCanceledException)
                {
                    throw new TimeoutException($"Waited {Wait.TotalSeconds} s for {what}.");
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                await RunAsync("kill-server");
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
        }

        private async Task<string> RunAsync(params string[] args)
        {
            var start = new ProcessStartInfo("tmux") { RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add("-L");
            start.ArgumentList.Add(_socket);
            foreach (var arg in args)
            {
                start.ArgumentList.Add(arg);
            }

            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync().WaitAsync(Wait);
            return process.ExitCode == 0 ? await output : throw new InvalidOperationException($"tmux {string.Join(' ', args)}: {await error}");
        }
    }
}
