using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Messenger.TestSupport;
using Xunit.Abstractions;

namespace Messenger.Cli.Tests;

/// <summary>
/// Two real <c>messenger</c> processes chatting on 127.0.0.1, each with its own profile and key, synchronised on their
/// <c>--json</c> event lines (never on sleeps).
/// </summary>
public class ChatCommandTests(ITestOutputHelper log)
{
    [Fact]
    public async Task Connect_TwoPeersThroughTheRelay_ChatBothWays_SendTwoFiles_ExportedCopiesMatch()
    {
        using var temp = new TempFolder();
        var big = WriteRandomFile(temp.File("big archive.bin"), 16_000_000);
        var small = temp.File("notes.txt");
        File.WriteAllText(small, string.Concat(Enumerable.Repeat("Messenger notes. ", 3000)));
        await using var relay = await Relay.StartAsync();
        var (aliceProfile, aliceKey) = NewProfile(temp, "alice");
        var (bobProfile, bobKey) = NewProfile(temp, "bob");

        await using var alice = RunningMessenger.Start("alice", null, "connect", "--room", "garden", "--relay", relay.Address, "--bind", "127.0.0.1", "--json", "--profile", aliceProfile, "--key-file", aliceKey);
        await using var bob = RunningMessenger.Start("bob", null, "connect", "--room", "garden", "--relay", relay.Address, "--bind", "127.0.0.1", "--json", "--peer", "alice", "--profile", bobProfile, "--key-file", bobKey);
        var (aliceConnected, bobConnected) = (await alice.NextEventAsync("connected"), await bob.NextEventAsync("connected"));
        Assert.Equal(["answerer", "offerer"], new[] { (string?)aliceConnected["role"], (string?)bobConnected["role"] }.Order());

        // Unnamed, the other side is filed under a name of its own (never the room another person may join next).
        Assert.Matches("^peer-[0-9a-f]{12}$", (string?)aliceConnected["peer"]);
        Assert.Equal("alice", (string?)bobConnected["peer"]);

        await alice.SendAsync("Hello Bob");
        var sent = await alice.NextEventAsync("chat-sent");
        Assert.Equal("Hello Bob", (string?)(await bob.NextEventAsync("chat-received"))["text"]);
        await alice.NextEventAsync("chat-delivered", e => (string?)e["id"] == (string?)sent["id"]);
        await bob.SendAsync("Hi Alice");
        Assert.Equal("Hi Alice", (string?)(await alice.NextEventAsync("chat-received"))["text"]);

        await alice.SendAsync($"/send \"{big}\" {small}");

        // Alice hears at once that each file is being prepared, before its offer goes (events are read in order).
        var preparing = await alice.NextEventAsync("preparing");
        Assert.Equal("offer", (string?)preparing["work"]);
        Assert.Contains((string?)preparing["name"], new[] { "big archive.bin", "notes.txt" });
        Assert.Equal("outgoing", (string?)(await alice.NextEventAsync("transfer-offered", e => (string?)e["name"] == (string?)preparing["name"]))["direction"]);
        var offers = new List<JsonObject> { await bob.NextEventAsync("transfer-offered"), await bob.NextEventAsync("transfer-offered") };
        Assert.Equal(["big archive.bin", "notes.txt"], offers.Select(o => (string?)o["name"]).Order());
        Assert.Contains(offers, o => (long?)o["size"] == 16_000_000 && (string?)o["mediaType"] == "application/octet-stream");
        Assert.Contains(offers, o => (string?)o["mediaType"] == "text/plain");
        var clock = Stopwatch.StartNew();
        foreach (var offer in offers)
        {
            await bob.SendAsync($"/accept {(string?)offer["id"]}");
        }

        // Chat stays responsive while the files move.
        await bob.SendAsync("still here");
        Assert.Equal("still here", (string?)(await alice.NextEventAsync("chat-received"))["text"]);
        var done = new List<JsonObject> { await bob.NextEventAsync("transfer-completed"), await bob.NextEventAsync("transfer-completed") };
        clock.Stop();
        log.WriteLine($"two files, {16_000_000 + new FileInfo(small).Length:N0} bytes, in {clock.Elapsed.TotalSeconds:F2} s: {16_000_000 / clock.Elapsed.TotalSeconds / 1e6:F1} MB/s between two processes");

        await bob.SendAsync("/transfers");
        var listed = (await bob.NextEventAsync("transfers"))["transfers"]!.AsArray();
        Assert.All(listed, t => Assert.Equal("Completed", (string?)t!["state"]));

        // Every command answers: a finished transfer has nothing to cancel, and a folder is not a file.
        await bob.SendAsync($"/cancel {(string?)done[0]["id"]}");
        Assert.Contains("is already completed", (string?)(await bob.NextEventAsync("error"))["message"], StringComparison.Ordinal);
        await alice.SendAsync($"/send {temp.Path}");
        Assert.Contains("is a folder", (string?)(await alice.NextEventAsync("error"))["message"], StringComparison.Ordinal);

        // Neither file is an image: the image preview plugin is loaded, but libvips (6 MiB mapped) never is. Loading
        // the plugins pulls in only what they use, not the closure of the shared assemblies' references (which held
        // Xml, Http and Quic, nothing here uses them).
        foreach (var peer in new[] { alice, bob })
        {
            var maps = File.ReadAllText($"/proc/{peer.Id}/maps");
            Assert.DoesNotContain("libvips", maps, StringComparison.Ordinal);
            Assert.DoesNotContain("System.Net.Http.dll", maps, StringComparison.Ordinal);
            Assert.DoesNotContain("System.Private.Xml.dll", maps, StringComparison.Ordinal);
        }

        await alice.SendAsync("/quit");
        Assert.Equal(0, await alice.WaitForExitAsync());
        Assert.Equal("disconnected", (string?)(await bob.NextEventAsync("disconnected"))["event"]);
        Assert.Equal(0, await bob.WaitForExitAsync());

        foreach (var (completed, original) in done.Select(d => (d, (string?)d["name"] == "notes.txt" ? small : big)))
        {
            var exported = temp.File("exported-" + (string?)completed["name"]);
            var (exit, output) = await MessengerProcess.RunAsync(temp.Path, "export", (string)completed["id"]!, exported, "--profile", bobProfile, "--key-file", bobKey, "--plugins", RepoPlugins);
            Assert.True(exit == 0, output);
            Assert.Equal(Sha256(original), Sha256(exported));
            Assert.Contains(Sha256(original), output, StringComparison.Ordinal);
        }

        // After the session: messenger files finds them, and its short id is enough for export.
        var (filesExit, filesOutput) = await MessengerProcess.RunAsync(temp.Path, "files", "--json", "--profile", bobProfile, "--key-file", bobKey, "--plugins", RepoPlugins);
        Assert.True(filesExit == 0, filesOutput);
        var files = filesOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(["big archive.bin", "notes.txt"], files.Select(f => (string?)f["name"]).Order());
        Assert.All(files, f => Assert.Equal(("received", "alice", "Completed"), ((string?)f["direction"], (string?)f["peer"], (string?)f["state"])));
        var notes = files.Single(f => (string?)f["name"] == "notes.txt");
        var byShortId = temp.File("by-short-id.txt");
        var (shortExit, shortOutput) = await MessengerProcess.RunAsync(temp.Path, "export", (string)notes["shortId"]!, byShortId, "--profile", bobProfile, "--key-file", bobKey, "--plugins", RepoPlugins);
        Assert.True(shortExit == 0, shortOutput);
        Assert.Equal(Sha256(small), Sha256(byShortId));

        // messenger open: a private decrypted copy for a quick look, its path on stdout.
        var (openExit, opened) = await MessengerProcess.RunAsync(temp.Path, "open", (string)notes["shortId"]!, "--profile", bobProfile, "--key-file", bobKey, "--plugins", RepoPlugins);
        Assert.True(openExit == 0, opened);
        var openedPath = opened.Split('\n')[0].Trim();
        try
        {
            Assert.Equal("notes.txt", Path.GetFileName(openedPath));
            Assert.Equal(Sha256(small), Sha256(openedPath));
            var mode = OperatingSystem.IsWindows() ? default : File.GetUnixFileMode(Path.GetDirectoryName(openedPath)!); // the suite runs on Linux
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, mode);
            Assert.Contains("delete it when done", opened, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(openedPath)!, recursive: true);
        }

        var (historyExit, history) = await MessengerProcess.RunAsync(temp.Path, "history", "--json", "--profile", bobProfile, "--key-file", bobKey, "--plugins", RepoPlugins);
        Assert.True(historyExit == 0, history);
        var messages = history.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Contains(messages, m => (string?)m["text"] == "Hello Bob" && (string?)m["direction"] == "incoming" && (string?)m["peer"] == "alice" && ((string?)m["conversation"])!.Length == 64);
        Assert.Contains(messages, m => (string?)m["text"] == "Hi Alice" && (string?)m["direction"] == "outgoing");

        // The files are in the history too, in time order with the chat, each with its id.
        var historyFiles = messages.Where(m => (string?)m["kind"] == "file").ToList();
        Assert.Equal(["big archive.bin", "notes.txt"], historyFiles.Select(f => (string?)f["name"]).Order());
        Assert.All(historyFiles, f => Assert.Equal(("incoming", "Completed", "alice"), ((string?)f["direction"], (string?)f["state"], (string?)f["peer"])));
        Assert.Equal(files.Select(f => (string?)f["id"]).Order(), historyFiles.Select(f => (string?)f["id"]).Order());
        var times = messages.Select(m => DateTimeOffset.Parse((string)m["sentAt"]!, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(times.Order(), times);
        Assert.True(messages.FindIndex(m => (string?)m["text"] == "Hi Alice") < messages.FindIndex(m => (string?)m["kind"] == "file"), "a file sent after the chat is listed before it");

        var (textExit, text) = await MessengerProcess.RunAsync(temp.Path, "history", "--profile", bobProfile, "--key-file", bobKey, "--plugins", RepoPlugins);
        Assert.True(textExit == 0, text);
        var notesLine = Assert.Single(text.Split('\n'), l => l.Contains("alice sent notes.txt (", StringComparison.Ordinal));
        Assert.EndsWith($"(file {(string?)notes["shortId"]}, completed: messenger export {(string?)notes["shortId"]} PATH)", notesLine.TrimEnd(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OfferAnswer_CodesPipedBetweenTwoProcesses_Connect_ChatAndAutoAcceptAFile()
    {
        using var temp = new TempFolder();
        var file = WriteRandomFile(temp.File("photo.raw"), 300_000);
        var (aliceProfile, aliceKey) = NewProfile(temp, "alice");
        var (bobProfile, bobKey) = NewProfile(temp, "bob");
        await using var alice = RunningMessenger.Start("alice", null, "offer", "--bind", "127.0.0.1", "--json", "--profile", aliceProfile, "--key-file", aliceKey);
        await using var bob = RunningMessenger.Start("bob", null, "answer", "--bind", "127.0.0.1", "--json", "--auto-accept", "--peer", "alice", "--profile", bobProfile, "--key-file", bobKey);

        var offerCode = (string)(await alice.NextEventAsync("offer-code"))["code"]!;
        Assert.StartsWith("o", offerCode, StringComparison.Ordinal);
        await bob.SendAsync(offerCode);
        var answerCode = (string)(await bob.NextEventAsync("answer-code"))["code"]!;
        Assert.StartsWith("a", answerCode, StringComparison.Ordinal);
        await alice.SendAsync(answerCode);
        Assert.Equal("offerer", (string?)(await alice.NextEventAsync("connected"))["role"]);
        Assert.Equal("alice", (string?)(await bob.NextEventAsync("connected"))["peer"]);

        await alice.SendAsync("pasted codes work");
        Assert.Equal("pasted codes work", (string?)(await bob.NextEventAsync("chat-received"))["text"]);
        var image = await MakeImageAsync(temp.File("view.jpg"));
        var dotFile = temp.File(".profile");
        File.WriteAllText(dotFile, "export PATH=/peer/chose/this\n");
        await alice.SendAsync($"/send {file} {image} {dotFile}");
        var imageOffer = await bob.NextEventAsync("transfer-offered", e => (string?)e["name"] == "view.jpg");
        Assert.Equal("image/jpeg", (string?)imageOffer["mediaType"]);
        var preview = imageOffer["preview"]!.AsObject();
        Assert.True((int?)preview["width"] <= 300 && (int?)preview["height"] <= 300, preview.ToJsonString());
        Assert.Equal(640, (int?)preview["sourceWidth"]);
        // The offer already carries ".profile" without its dot ("profile"); the export below checks the last line of defence.
        JsonObject? completed = null, dotCompleted = null;
        while (completed is null || dotCompleted is null)
        {
            var done = await bob.NextEventAsync("transfer-completed", e => (string?)e["name"] is "photo.raw" or "profile");
            if ((string?)done["name"] == "photo.raw")
            {
                completed = done;
            }
            else
            {
                dotCompleted = done;
            }
        }

        Assert.Equal(300_000, (long?)completed["size"]);
        await alice.NextEventAsync("transfer-completed", e => (string?)e["name"] == "photo.raw");

        bob.CloseInput(); // end of input quits like /quit
        Assert.Equal(0, await bob.WaitForExitAsync());
        await alice.NextEventAsync("disconnected");
        Assert.Equal(0, await alice.WaitForExitAsync());

        var exported = temp.File("out.raw");
        var (exit, output) = await MessengerProcess.RunAsync(temp.Path, "export", (string)completed["id"]!, exported, "--profile", bobProfile, "--key-file", bobKey, "--plugins", RepoPlugins);
        Assert.True(exit == 0, output);
        Assert.Equal(Sha256(file), Sha256(exported));

        // Never overwritten without --force; with it, it is.
        (exit, output) = await MessengerProcess.RunAsync(temp.Path, "export", (string)completed["id"]!, exported, "--profile", bobProfile, "--key-file", bobKey, "--plugins", RepoPlugins);
        Assert.Equal(2, exit);
        Assert.Contains("pass --force", Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
        (exit, output) = await MessengerProcess.RunAsync(temp.Path, "export", (string)completed["id"]!, exported, "--force", "--profile", bobProfile, "--key-file", bobKey, "--plugins", RepoPlugins);
        Assert.True(exit == 0, output);

        // Into a folder: under the sender's file name.
        var downloads = Directory.CreateDirectory(temp.File("downloads")).FullName;
        (exit, output) = await MessengerProcess.RunAsync(temp.Path, "export", (string)completed["id"]!, downloads, "--profile", bobProfile, "--key-file", bobKey, "--plugins", RepoPlugins);
        Assert.True(exit == 0, output);
        Assert.Equal(Sha256(file), Sha256(Path.Combine(downloads, "photo.raw")));

        // A name the peer chose never becomes a dot-file in the folder exported into (think of a home folder).
        (exit, output) = await MessengerProcess.RunAsync(temp.Path, "export", (string)dotCompleted["id"]!, downloads, "--force", "--profile", bobProfile, "--key-file", bobKey, "--plugins", RepoPlugins);
        Assert.True(exit == 0, output);
        Assert.Equal(["photo.raw", "profile"], Directory.GetFiles(downloads).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task OfferAnswer_PlainText_CodeOnItsOwnLine_ChatLinesReadable()
    {
        using var temp = new TempFolder();
        var (aliceProfile, aliceKey) = NewProfile(temp, "alice");
        var (bobProfile, bobKey) = NewProfile(temp, "bob");
        await using var alice = RunningMessenger.Start("alice", null, "offer", "--bind", "127.0.0.1", "--peer", "bob", "--profile", aliceProfile, "--key-file", aliceKey);
        await using var bob = RunningMessenger.Start("bob", null, "answer", "--bind", "127.0.0.1", "--peer", "alice", "--profile", bobProfile, "--key-file", bobKey);

        await alice.NextLineAsync(l => l.Contains("Your offer code", StringComparison.Ordinal));
        var offerCode = await alice.NextLineAsync(_ => true);
        await bob.SendAsync(offerCode);
        await bob.NextLineAsync(l => l.Contains("Your answer code", StringComparison.Ordinal));
        await alice.SendAsync(await bob.NextLineAsync(_ => true));
        await alice.NextLineAsync(l => l.StartsWith("Connected to bob", StringComparison.Ordinal));
        await bob.NextLineAsync(l => l.StartsWith("Connected to alice", StringComparison.Ordinal));

        await alice.SendAsync("plain \u001b[31m text");
        await bob.NextLineAsync(l => l == "alice: plain \uFFFD[31m text"); // a terminal escape from the peer is never printed
        await alice.SendAsync("/nonsense");
        await alice.NextLineAsync(l => l.StartsWith("unknown command /nonsense", StringComparison.Ordinal));
        await alice.SendAsync("/quit");
        Assert.Equal(0, await alice.WaitForExitAsync());
        await bob.NextLineAsync(l => l.StartsWith("Disconnected: alice left", StringComparison.Ordinal));
        Assert.Equal(0, await bob.WaitForExitAsync());
    }

    [Fact]
    public async Task Connect_RejectAndCancel_ReachTheOtherSide_AndUnknownIdsAreErrors()
    {
        using var temp = new TempFolder();
        var small = WriteRandomFile(temp.File("unwanted.bin"), 50_000);
        var big = WriteRandomFile(temp.File("long.bin"), 200_000_000); // long enough that the cancel lands mid-transfer on a busy machine
        await using var relay = await Relay.StartAsync();
        var (aliceProfile, aliceKey) = NewProfile(temp, "alice");
        var (bobProfile, bobKey) = NewProfile(temp, "bob");
        await using var alice = RunningMessenger.Start("alice", null, "connect", "--room", "r", "--relay", relay.Address, "--bind", "127.0.0.1", "--json", "--profile", aliceProfile, "--key-file", aliceKey);
        await using var bob = RunningMessenger.Start("bob", null, "connect", "--room", "r", "--relay", relay.Address, "--bind", "127.0.0.1", "--json", "--profile", bobProfile, "--key-file", bobKey);
        await alice.NextEventAsync("connected");
        await bob.NextEventAsync("connected");

        await alice.SendAsync($"/send {small}");
        var offer = await bob.NextEventAsync("transfer-offered");
        await bob.SendAsync($"/reject {(string?)offer["id"]} not today");
        var rejected = await alice.NextEventAsync("transfer-rejected");
        Assert.Equal(true, (bool?)rejected["byPeer"]);
        Assert.EndsWith("not today", (string?)rejected["reason"], StringComparison.Ordinal);

        await alice.SendAsync($"/send {big}");
        var second = await bob.NextEventAsync("transfer-offered");
        var id = (string)second["id"]!;
        await bob.SendAsync($"/accept {id[..8]}"); // a unique prefix is enough
        await bob.NextEventAsync("transfer-progress", e => (string?)e["id"] == id);
        await alice.SendAsync($"/cancel {id}");
        Assert.Equal(true, (bool?)(await bob.NextEventAsync("transfer-cancelled", e => (string?)e["id"] == id))["byPeer"]);

        await bob.SendAsync("/accept nosuchid");
        Assert.Contains("no incoming transfer nosuchid", (string?)(await bob.NextEventAsync("error"))["message"], StringComparison.Ordinal);
        await bob.SendAsync($"/resend {id}"); // Bob received it: there is nothing of his to resend
        Assert.Contains($"no outgoing transfer {id}", (string?)(await bob.NextEventAsync("error"))["message"], StringComparison.Ordinal);
        await alice.SendAsync($"/accept {id}");
        Assert.Contains($"no incoming transfer {id}", (string?)(await alice.NextEventAsync("error"))["message"], StringComparison.Ordinal);
        await bob.SendAsync("/send /no/such/file");
        Assert.Contains("no file at /no/such/file", (string?)(await bob.NextEventAsync("error"))["message"], StringComparison.Ordinal);
        await bob.SendAsync("/history many");
        Assert.Contains("/history N", (string?)(await bob.NextEventAsync("error"))["message"], StringComparison.Ordinal);
        await bob.SendAsync("/quit");
        Assert.Equal(0, await bob.WaitForExitAsync());
        Assert.Equal(0, await alice.WaitForExitAsync());
    }

    [Fact]
    public async Task Answer_DamagedCode_OneLineAndExitTwo()
    {
        using var temp = new TempFolder();
        var (profile, key) = NewProfile(temp, "bob");
        await using var bob = RunningMessenger.Start("bob", null, "answer", "--bind", "127.0.0.1", "--json", "--profile", profile, "--key-file", key);

        await bob.SendAsync("oz!!!not-a-code");

        Assert.Equal(2, await bob.WaitForExitAsync());
        Assert.Contains("messenger: The connection code is damaged", bob.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connect_CtrlC_DuringATransfer_PausesIt_Exits130_AndTheNextConnectionResumesIt()
    {
        using var temp = new TempFolder();
        // Big enough that Ctrl-C lands mid-transfer even when the test machine is busy: the transport moves
        // tens of MB per second, and a loaded machine can take seconds to deliver and act on the signal.
        var big = WriteRandomFile(temp.File("huge.bin"), 200_000_000);
        await using var relay = await Relay.StartAsync();
        var (aliceProfile, aliceKey) = NewProfile(temp, "alice");
        var (bobProfile, bobKey) = NewProfile(temp, "bob");
        RunningMessenger Alice() => RunningMessenger.Start("alice", null, "connect", "--room", "r", "--peer", "bob", "--relay", relay.Address, "--bind", "127.0.0.1", "--json", "--profile", aliceProfile, "--key-file", aliceKey);
        RunningMessenger Bob() => RunningMessenger.Start("bob", null, "connect", "--room", "r", "--peer", "alice", "--relay", relay.Address, "--bind", "127.0.0.1", "--json", "--auto-accept", "--profile", bobProfile, "--key-file", bobKey);
        string transferId;
        await using (var alice = Alice())
        await using (var bob = Bob())
        {
            await alice.NextEventAsync("connected");
            await bob.NextEventAsync("connected");

            await alice.SendAsync($"/send {big}");
            await bob.NextEventAsync("transfer-progress", e => (long?)e["bytes"] > 1_000_000);
            await bob.InterruptAsync();

            var paused = await bob.NextEventAsync("transfer-paused");
            transferId = (string)paused["id"]!;
            Assert.True((long?)paused["bytes"] < 200_000_000);
            Assert.Equal(130, await bob.WaitForExitAsync());
            Assert.Contains("messenger: cancelled.", bob.Stderr, StringComparison.Ordinal);
            await alice.NextEventAsync("transfer-paused");
            await alice.NextEventAsync("disconnected");
            Assert.Equal(0, await alice.WaitForExitAsync());
        }

        // Both come back to the same room: the sender re-offers, the receiver answers with the prefix it holds.
        await using (var alice = Alice())
        await using (var bob = Bob())
        {
            // Bob says he is checking what he holds before the transfer restarts; Alice checks her side of it too.
            var checkedPrefix = await bob.NextEventAsync("preparing", e => (string?)e["id"] == transferId && (long?)e["done"] == (long?)e["total"]);
            Assert.Equal("checking-resumed-prefix", (string?)checkedPrefix["work"]);
            var resumed = await bob.NextEventAsync("transfer-started", e => (string?)e["id"] == transferId);
            Assert.True((long?)resumed["resumedFrom"] > 0, resumed.ToJsonString());
            Assert.Equal((long?)resumed["resumedFrom"], (long?)checkedPrefix["total"]);
            await alice.NextEventAsync("preparing", e => (string?)e["id"] == transferId && (string?)e["work"] == "checking-resumed-prefix");
            await FinishAsync(alice, bob, transferId);
        }

        await ExportMatchesAsync(temp, transferId, bobProfile, bobKey, big);
    }

    [Fact]
    public async Task Connect_WaitingForALostPeerToComeBack_QuitStopsIt_Exit0()
    {
        using var temp = new TempFolder();
        await using var relay = await Relay.StartAsync();
        var (aliceProfile, aliceKey) = NewProfile(temp, "alice");
        var (bobProfile, bobKey) = NewProfile(temp, "bob");
        await using var alice = RunningMessenger.Start("alice", null, "connect", "--room", "q", "--peer", "bob", "--relay", relay.Address, "--bind", "127.0.0.1", "--json", "--profile", aliceProfile, "--key-file", aliceKey);
        await using (var bob = RunningMessenger.Start("bob", null, "connect", "--room", "q", "--peer", "alice", "--relay", relay.Address, "--bind", "127.0.0.1", "--json", "--profile", bobProfile, "--key-file", bobKey))
        {
            await alice.NextEventAsync("connected");
            await bob.NextEventAsync("connected");
            await bob.KillAsync();
        }

        await alice.NextEventAsync("reconnecting", timeout: TimeSpan.FromSeconds(30));
        await alice.NextEventAsync("waiting");
        await alice.SendAsync("/quit");

        Assert.Equal("you quit while waiting for the peer to come back", (string?)(await alice.NextEventAsync("disconnected", e => ((string?)e["reason"])!.StartsWith("you quit", StringComparison.Ordinal)))["reason"]);
        Assert.Equal(0, await alice.WaitForExitAsync());
    }

    [Fact]
    public async Task OfferAnswer_PeerKilled_SurvivorSaysSoInSeconds_ThenHowToResume_Exit5()
    {
        using var temp = new TempFolder();
        var (aliceProfile, aliceKey) = NewProfile(temp, "alice");
        var (bobProfile, bobKey) = NewProfile(temp, "bob");
        await using var alice = RunningMessenger.Start("alice", null, "offer", "--bind", "127.0.0.1", "--json", "--peer", "bob", "--profile", aliceProfile, "--key-file", aliceKey);
        await using (var bob = RunningMessenger.Start("bob", null, "answer", "--bind", "127.0.0.1", "--json", "--peer", "alice", "--profile", bobProfile, "--key-file", bobKey))
        {
            await bob.SendAsync((string)(await alice.NextEventAsync("offer-code"))["code"]!);
            await alice.SendAsync((string)(await bob.NextEventAsync("answer-code"))["code"]!);
            await alice.NextEventAsync("connected");
            await bob.NextEventAsync("connected");
            await bob.KillAsync();
        }

        var killed = Stopwatch.StartNew();
        await alice.NextEventAsync("peer-unreachable", timeout: TimeSpan.FromSeconds(15));
        log.WriteLine($"peer-unreachable {killed.Elapsed.TotalSeconds:F1} s after the kill");
        Assert.Contains("stopped answering", (string?)(await alice.NextEventAsync("disconnected"))["reason"], StringComparison.Ordinal);
        await alice.NextEventAsync("how-to-resume");
        Assert.Equal(5, await alice.WaitForExitAsync());
    }

    [Fact]
    public async Task Connect_PeerKilledMidTransfer_SurvivorSaysSoInSeconds_RejoinsTheRoom_AndResumesWhenThePeerReturns()
    {
        using var temp = new TempFolder();
        var big = WriteRandomFile(temp.File("huge.bin"), 200_000_000);
        await using var relay = await Relay.StartAsync();
        var (aliceProfile, aliceKey) = NewProfile(temp, "alice");
        var (bobProfile, bobKey) = NewProfile(temp, "bob");
        RunningMessenger Bob() => RunningMessenger.Start("bob", null, "connect", "--room", "r", "--peer", "alice", "--relay", relay.Address, "--bind", "127.0.0.1", "--json", "--auto-accept", "--profile", bobProfile, "--key-file", bobKey);
        await using var alice = RunningMessenger.Start("alice", null, "connect", "--room", "r", "--peer", "bob", "--relay", relay.Address, "--bind", "127.0.0.1", "--json", "--profile", aliceProfile, "--key-file", aliceKey);
        string transferId;
        await using (var bob = Bob())
        {
            await alice.NextEventAsync("connected");
            await bob.NextEventAsync("connected");
            await alice.SendAsync($"/send {big}");
            // Past several of the receiver's durable acks (every 4 MiB): a prefix is stored for the resume to start from.
            var progress = await bob.NextEventAsync("transfer-progress", e => (long?)e["bytes"] > 30_000_000);
            transferId = (string)progress["id"]!;
            await bob.KillAsync();
        }

        // Alice hears nothing from Bob's side any more: she says so within seconds, then goes back to the room.
        var killed = Stopwatch.StartNew();
        await alice.NextEventAsync("peer-unreachable", timeout: TimeSpan.FromSeconds(15));
        log.WriteLine($"peer-unreachable {killed.Elapsed.TotalSeconds:F1} s after the kill");
        await alice.NextEventAsync("transfer-paused", e => (string?)e["id"] == transferId, TimeSpan.FromSeconds(30));
        await alice.NextEventAsync("reconnecting");
        await alice.NextEventAsync("waiting");

        // Bob starts again with the same profile: they meet again, and the file goes on from what Bob had stored.
        await using (var bob = Bob())
        {
            await alice.NextEventAsync("connected");
            var resumed = await bob.NextEventAsync("transfer-started", e => (string?)e["id"] == transferId);
            Assert.True((long)resumed["resumedFrom"]! > 0, resumed.ToJsonString()); // from Bob's stored prefix, not from the start
            await FinishAsync(alice, bob, transferId);
        }

        await ExportMatchesAsync(temp, transferId, bobProfile, bobKey, big);
    }

    [Theory]
    [InlineData("/quit")]
    [InlineData(null)] // the end of input, as a script closing stdin
    public async Task Connect_WaitingForThePeer_QuitOrEndOfInput_StopsAtOnce_Exit0(string? how)
    {
        using var temp = new TempFolder();
        await using var relay = await Relay.StartAsync();
        var (profile, key) = NewProfile(temp, "alice");
        await using var alice = RunningMessenger.Start("alice", null, "connect", "--room", "empty", "--relay", relay.Address, "--bind", "127.0.0.1", "--json", "--profile", profile, "--key-file", key);

        var waiting = await alice.NextEventAsync("waiting");
        Assert.Equal("empty", (string?)waiting["room"]);
        if (how is null)
        {
            alice.CloseInput();
        }
        else
        {
            await alice.SendAsync(how);
        }

        Assert.Equal(0, await alice.WaitForExitAsync(TimeSpan.FromSeconds(15)));
        Assert.Equal("you quit before the peer arrived", (string?)(await alice.NextEventAsync("disconnected"))["reason"]);
    }

    [Fact]
    public async Task Connect_TransferToBobInterrupted_NextConnectionToCarolInAnotherRoom_OffersHerNothing_AndBobGetsItLater()
    {
        using var temp = new TempFolder();
        var big = WriteRandomFile(temp.File("big1g.bin"), 200_000_000);
        await using var relay = await Relay.StartAsync();
        var (aliceProfile, aliceKey) = NewProfile(temp, "alice");
        var (bobProfile, bobKey) = NewProfile(temp, "bob");
        var (carolProfile, carolKey) = NewProfile(temp, "carol");
        RunningMessenger Alice(string room, string peer) => RunningMessenger.Start("alice", null, "connect", "--room", room, "--peer", peer, "--relay", relay.Address, "--bind", "127.0.0.1", "--json", "--profile", aliceProfile, "--key-file", aliceKey);
        RunningMessenger Bob() => RunningMessenger.Start("bob", null, "connect", "--room", "room-bob", "--peer", "alice", "--relay", relay.Address, "--bind", "127.0.0.1", "--json", "--auto-accept", "--profile", bobProfile, "--key-file", bobKey);
        string transferId;
        await using (var alice = Alice("room-bob", "bob"))
        await using (var bob = Bob())
        {
            await alice.NextEventAsync("connected");
            await bob.NextEventAsync("connected");
            await alice.SendAsync($"/send {big}");
            await bob.NextEventAsync("transfer-progress", e => (long?)e["bytes"] > 1_000_000);
            await alice.InterruptAsync();
            var paused = await alice.NextEventAsync("transfer-paused");
            transferId = (string)paused["id"]!;
            Assert.Equal("bob", (string?)paused["peer"]);
            Assert.Equal(130, await alice.WaitForExitAsync());
            await bob.NextEventAsync("transfer-paused");
            await bob.NextEventAsync("disconnected");
            Assert.Equal(0, await bob.WaitForExitAsync());
        }

        // The same profile meets Carol, who accepts anything: she must be offered nothing of Bob's.
        await using (var alice = Alice("room-carol", "carol"))
        await using (var carol = RunningMessenger.Start("carol", null, "connect", "--room", "room-carol", "--relay", relay.Address, "--bind", "127.0.0.1", "--json", "--auto-accept", "--profile", carolProfile, "--key-file", carolKey))
        {
            await alice.NextEventAsync("connected");
            await carol.NextEventAsync("connected");
            await alice.SendAsync("hello Carol");
            var sent = await alice.NextEventAsync("chat-sent");
            await alice.NextEventAsync("chat-delivered", e => (string?)e["id"] == (string?)sent["id"]);
            Assert.Equal("hello Carol", (string?)(await carol.NextEventAsync("chat-received"))["text"]);
            await alice.SendAsync("/transfers");
            Assert.Empty((await alice.NextEventAsync("transfers"))["transfers"]!.AsArray());
            await carol.SendAsync("/transfers");
            Assert.Empty((await carol.NextEventAsync("transfers"))["transfers"]!.AsArray());
            await alice.SendAsync($"/cancel {transferId}"); // Bob's transfer is not this conversation's to touch
            Assert.Contains($"no transfer {transferId}", (string?)(await alice.NextEventAsync("error"))["message"], StringComparison.Ordinal);
            await alice.SendAsync("/quit");
            Assert.Equal(0, await alice.WaitForExitAsync());
            Assert.Equal(0, await carol.WaitForExitAsync());
            Assert.DoesNotContain("\"transfer-", carol.Stdout, StringComparison.Ordinal);
            Assert.DoesNotContain(transferId, carol.Stdout, StringComparison.Ordinal);
            Assert.DoesNotContain("big1g", carol.Output, StringComparison.Ordinal); // not even the name of the file
        }

        // Back with Bob: resumed from what he holds, and verified.
        await using (var alice = Alice("room-bob", "bob"))
        await using (var bob = Bob())
        {
            // Bob says he is checking what he holds before the transfer restarts; Alice checks her side of it too.
            var checkedPrefix = await bob.NextEventAsync("preparing", e => (string?)e["id"] == transferId && (long?)e["done"] == (long?)e["total"]);
            Assert.Equal("checking-resumed-prefix", (string?)checkedPrefix["work"]);
            var resumed = await bob.NextEventAsync("transfer-started", e => (string?)e["id"] == transferId);
            Assert.True((long?)resumed["resumedFrom"] > 0, resumed.ToJsonString());
            Assert.Equal((long?)resumed["resumedFrom"], (long?)checkedPrefix["total"]);
            await alice.NextEventAsync("preparing", e => (string?)e["id"] == transferId && (string?)e["work"] == "checking-resumed-prefix");
            await bob.NextEventAsync("transfer-completed", e => (string?)e["id"] == transferId, TimeSpan.FromMinutes(2));
            await alice.SendAsync("/quit");
            Assert.Equal(0, await alice.WaitForExitAsync());
            Assert.Equal(0, await bob.WaitForExitAsync());
        }

        var exported = temp.File("big1g.out");
        var (exit, output) = await MessengerProcess.RunAsync(temp.Path, "export", transferId, exported, "--profile", bobProfile, "--key-file", bobKey, "--plugins", RepoPlugins);
        Assert.True(exit == 0, output);
        Assert.Equal(Sha256(big), Sha256(exported));
    }

    /// <summary>Bob stores the whole transfer; Alice quits and both exit 0.</summary>
    private static async Task FinishAsync(RunningMessenger alice, RunningMessenger bob, string transferId)
    {
        await bob.NextEventAsync("transfer-completed", e => (string?)e["id"] == transferId, TimeSpan.FromMinutes(2));
        await alice.SendAsync("/quit");
        Assert.Equal(0, await alice.WaitForExitAsync());
        Assert.Equal(0, await bob.WaitForExitAsync());
    }

    /// <summary>What Bob's store holds of <paramref name="transferId"/> is <paramref name="original"/>, byte for byte.</summary>
    private static async Task ExportMatchesAsync(TempFolder temp, string transferId, string bobProfile, string bobKey, string original)
    {
        var exported = temp.File("exported-" + transferId);
        var (exit, output) = await MessengerProcess.RunAsync(temp.Path, "export", transferId, exported, "--profile", bobProfile, "--key-file", bobKey, "--plugins", RepoPlugins);
        Assert.True(exit == 0, output);
        Assert.Equal(Sha256(original), Sha256(exported));
    }

    internal static string RepoPlugins => Path.Combine(RepoPaths.RepoRoot, "plugins.json");

    internal static (string Profile, string KeyFile) NewProfile(TempFolder temp, string name)
    {
        var profile = Directory.CreateDirectory(temp.File(name)).FullName;
        var key = temp.File(name + ".key");
        File.WriteAllText(key, Convert.ToHexString(RandomNumberGenerator.GetBytes(32)));
        return (profile, key);
    }

    internal static string WriteRandomFile(string path, int size)
    {
        var random = new Random(size);
        using var file = File.Create(path);
        var buffer = new byte[1 << 20];
        for (var left = size; left > 0; left -= buffer.Length)
        {
            random.NextBytes(buffer);
            file.Write(buffer, 0, Math.Min(left, buffer.Length));
        }

        return path;
    }

    internal static async Task<string> MakeImageAsync(string path)
    {
        var start = new ProcessStartInfo("ffmpeg") { RedirectStandardError = true };
        foreach (var arg in new[] { "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x480", "-frames:v", "1", path })
        {
            start.ArgumentList.Add(arg);
        }

        using var ffmpeg = Process.Start(start)!;
        var error = ffmpeg.StandardError.ReadToEndAsync();
        await ffmpeg.WaitForExitAsync().WaitAsync(RunningMessenger.Wait);
        Assert.True(ffmpeg.ExitCode == 0, await error);
        return path;
    }

    internal static string Sha256(string path)
    {
        using var file = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(file));
    }

    /// <summary>A <c>messenger signal</c> process on a free 127.0.0.1 port.</summary>
    internal sealed class Relay : IAsyncDisposable
    {
        private readonly RunningMessenger _process;

        private Relay(RunningMessenger process, string address)
        {
            _process = process;
            Address = address;
        }

        public string Address { get; }

        public static async Task<Relay> StartAsync()
        {
            var process = RunningMessenger.Start("relay", null, "signal", "--port", "0");
            var banner = await process.NextLineAsync(l => l.StartsWith("messenger signal: listening on ", StringComparison.Ordinal));
            return new Relay(process, banner["messenger signal: listening on ".Length..].Split(' ')[0]);
        }

        public ValueTask DisposeAsync() => _process.DisposeAsync();
    }
}
