using System.Text.Json.Nodes;
using Messenger.TestSupport;
using static Messenger.Cli.Tests.ChatCommandTests;

namespace Messenger.Cli.Tests;

/// <summary>
/// The profile's identity and its contacts, between real <c>messenger</c> processes through the relay: a kept
/// fingerprint, trust on first use, a changed identity refused, and re-pinning on request.
/// </summary>
public sealed class IdentityTests
{
    [Fact]
    public async Task Whoami_SameIdentityEveryRun_AndThePeerSeesExactlyIt()
    {
        using var temp = new TempFolder();
        var (aliceProfile, aliceKey) = NewProfile(temp, "alice");
        var first = await WhoamiAsync(temp, aliceProfile, aliceKey);
        var second = await WhoamiAsync(temp, aliceProfile, aliceKey);

        Assert.Matches("^[0-9a-f]{64}$", (string?)first["peerId"]);
        Assert.Matches("^[0-9]{5}( [0-9]{5}){5}$", (string?)first["safetyCode"]);
        Assert.Equal(first.ToJsonString(), second.ToJsonString());
        Assert.Equal("sha-256 " + Convert.ToHexString(Convert.FromHexString((string)first["peerId"]!)).Chunk(2).Select(c => new string(c)).Aggregate((a, b) => a + ":" + b), (string?)first["fingerprint"]);

        // Another profile is another identity.
        var (bobProfile, bobKey) = NewProfile(temp, "bob");
        var bob = await WhoamiAsync(temp, bobProfile, bobKey);
        Assert.NotEqual((string?)first["peerId"], (string?)bob["peerId"]);

        // Two runs of connect: Bob sees Alice's kept identity both times, and knows her the second time.
        await using var relay = await Relay.StartAsync();
        for (var run = 0; run < 2; run++)
        {
            await using var alice = Connect(relay, "alice", aliceProfile, aliceKey, "room", "bob");
            await using var bobPeer = Connect(relay, "bob", bobProfile, bobKey, "room", "alice");
            var bobSaw = await bobPeer.NextEventAsync("connected");
            var aliceSaw = await alice.NextEventAsync("connected");
            Assert.Equal((string?)first["peerId"], (string?)bobSaw["peerId"]);
            Assert.Equal((string?)first["safetyCode"], (string?)bobSaw["safetyCode"]);
            Assert.Equal((string?)bob["peerId"], (string?)aliceSaw["peerId"]);
            Assert.Equal(run == 0 ? "pinned" : "known", (string?)bobSaw["contact"]);
            Assert.Equal("alice", (string?)bobSaw["peer"]);
            await alice.SendAsync($"hello, run {run}");
            await bobPeer.NextEventAsync("chat-received");
            await alice.SendAsync("/quit");
            Assert.Equal(0, await alice.WaitForExitAsync());
            Assert.Equal(0, await bobPeer.WaitForExitAsync());
        }

        var (exit, listed) = await MessengerProcess.RunAsync(temp.Path, "contacts", "--json", "--profile", bobProfile, "--key-file", bobKey, "--plugins", RepoPlugins);
        Assert.True(exit == 0, listed);
        var contact = Assert.Single(listed.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!));
        Assert.Equal(("alice", (string?)first["peerId"], (string?)first["safetyCode"]), ((string?)contact["name"], (string?)contact["peerId"], (string?)contact["safetyCode"]));

        // Renaming keeps the identity (and so the conversation); forgetting drops the pin, not the history.
        string[] store = ["--profile", bobProfile, "--key-file", bobKey, "--plugins", RepoPlugins];
        Assert.Equal(0, (await MessengerProcess.RunAsync(temp.Path, ["contacts", "rename", "ALICE", "Alice Smith", .. store])).ExitCode);
        var (taken, takenOutput) = await MessengerProcess.RunAsync(temp.Path, ["contacts", "rename", "nobody", "x", .. store]);
        Assert.Equal(2, taken);
        Assert.Contains("No contact is named 'nobody'", takenOutput, StringComparison.Ordinal);
        (exit, listed) = await MessengerProcess.RunAsync(temp.Path, ["contacts", "--json", .. store]);
        Assert.Equal("Alice Smith", (string?)JsonNode.Parse(listed.Trim())!["name"]);
        Assert.Equal(0, (await MessengerProcess.RunAsync(temp.Path, ["contacts", "forget", "alice smith", .. store])).ExitCode);
        (exit, listed) = await MessengerProcess.RunAsync(temp.Path, ["contacts", "--json", .. store]);
        Assert.Equal("", listed.Trim());
        var (historyExit, history) = await MessengerProcess.RunAsync(temp.Path, ["history", "--json", "--conversation", (string)first["peerId"]!, .. store]);
        Assert.Equal(0, historyExit);
        Assert.Equal(["hello, run 0", "hello, run 1"], history.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => (string?)JsonNode.Parse(l)!["text"]));
    }

    [Fact]
    public async Task KnownName_NewIdentity_RefusedWithExit6_NothingExchanged_ThenRepinOnRequest()
    {
        using var temp = new TempFolder();
        var secret = WriteRandomFile(temp.File("for-bob-only.bin"), 50_000_000);
        await using var relay = await Relay.StartAsync();
        var (aliceProfile, aliceKey) = NewProfile(temp, "alice");
        var (bobProfile, bobKey) = NewProfile(temp, "bob");
        var (malloryProfile, malloryKey) = NewProfile(temp, "mallory");

        // Alice meets Bob and starts a file for him that does not finish.
        await using (var alice = Connect(relay, "alice", aliceProfile, aliceKey, "room", "bob"))
        await using (var bob = Connect(relay, "bob", bobProfile, bobKey, "room", "alice", "--auto-accept"))
        {
            await alice.NextEventAsync("connected");
            await alice.SendAsync($"/send {secret}");
            await bob.NextEventAsync("transfer-progress", e => (long?)e["bytes"] > 100_000);
            await alice.SendAsync("/quit");
            Assert.Equal(0, await alice.WaitForExitAsync());
            Assert.Equal(0, await bob.WaitForExitAsync());
        }

        // Someone else turns up where Alice expects Bob: refused before anything is exchanged.
        var mallorySelf = await WhoamiAsync(temp, malloryProfile, malloryKey);
        var malloryId = (string)mallorySelf["peerId"]!;
        await using (var alice = Connect(relay, "alice", aliceProfile, aliceKey, "room", "BOB")) // names match in any case
        await using (var mallory = Connect(relay, "mallory", malloryProfile, malloryKey, "room", null, "--auto-accept"))
        {
            await mallory.SendAsync("hello, it is me, Bob"); // read as soon as its chat starts, if it does
            Assert.Equal(6, await alice.WaitForExitAsync());
            Assert.Contains("'bob' is pinned to another identity", alice.Stderr, StringComparison.Ordinal);
            Assert.Contains((string)mallorySelf["safetyCode"]!, alice.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("\"connected\"", alice.Stdout, StringComparison.Ordinal);
            // Mallory sees the connection close: before its chat started (exit 5) or just after (exit 0).
            Assert.Contains(await mallory.WaitForExitAsync(), new[] { 0, 5 });
            Assert.DoesNotContain("transfer-", mallory.Stdout, StringComparison.Ordinal);
            Assert.DoesNotContain("for-bob-only", mallory.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("chat-received", mallory.Stdout, StringComparison.Ordinal);
        }

        var (historyExit, history) = await MessengerProcess.RunAsync(temp.Path, "history", "--json", "--conversation", malloryId, "--profile", aliceProfile, "--key-file", aliceKey, "--plugins", RepoPlugins);
        Assert.Equal(0, historyExit);
        Assert.Equal("", history.Trim()); // nothing of Mallory's reached Alice's store

        // The user says Bob really has a new profile: --repin moves the name, and the old identity's file stays its own.
        await using (var alice = Connect(relay, "alice", aliceProfile, aliceKey, "room", "bob", "--repin"))
        await using (var mallory = Connect(relay, "mallory", malloryProfile, malloryKey, "room", null, "--auto-accept"))
        {
            var connected = await alice.NextEventAsync("connected");
            Assert.Equal(("bob", "repinned", malloryId), ((string?)connected["peer"], (string?)connected["contact"], (string?)connected["peerId"]));
            await alice.SendAsync("/transfers");
            Assert.Empty((await alice.NextEventAsync("transfers"))["transfers"]!.AsArray());
            await alice.SendAsync("/quit");
            Assert.Equal(0, await alice.WaitForExitAsync());
            await mallory.WaitForExitAsync();
            Assert.DoesNotContain("transfer-", mallory.Stdout, StringComparison.Ordinal);
            Assert.DoesNotContain("for-bob-only", mallory.Output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task OfferAnswer_ThroughAMiddleThatSwapsFingerprints_ItReadsTheChat_UnlessBothUseAPairingCode()
    {
        using var temp = new TempFolder();
        var (aliceProfile, aliceKey) = NewProfile(temp, "alice");
        var (bobProfile, bobKey) = NewProfile(temp, "bob");

        // Without a code, DTLS is sound but ends at the middle: both peers connect, and the middle reads the chat.
        await using (var middle = new FingerprintSwappingMiddle())
        await using (var alice = OfferAnswer("alice", "offer", aliceProfile, aliceKey))
        await using (var bob = OfferAnswer("bob", "answer", bobProfile, bobKey))
        {
            await PasteThroughAsync(middle, alice, bob);
            await alice.NextEventAsync("connected");
            await bob.NextEventAsync("connected");
            await AssertTheMiddleReadsAsync(middle, alice, bob, "the plan for tuesday");
            await QuitBothAsync(alice, bob);
        }

        // With the same code on both sides (new profiles: the first meeting), the middle is found out on both sides.
        (aliceProfile, aliceKey) = NewProfile(temp, "alice2");
        (bobProfile, bobKey) = NewProfile(temp, "bob2");
        await using (var middle = new FingerprintSwappingMiddle())
        await using (var alice = OfferAnswer("alice", "offer", aliceProfile, aliceKey, "--code", "42-kettle-orbit"))
        await using (var bob = OfferAnswer("bob", "answer", bobProfile, bobKey, "--code", "42-kettle-orbit"))
        {
            await PasteThroughAsync(middle, alice, bob);
            await AssertBothRefusedAsync(alice, bob);
        }

        // A code is good for one attempt: the middle had its guess.
        var (reused, reusedOutput) = await MessengerProcess.RunAsync(temp.Path, "answer", "--code", "42-kettle-orbit", "--profile", bobProfile, "--key-file", bobKey, "--plugins", RepoPlugins);
        Assert.Equal(2, reused);
        Assert.Contains("was used before", reusedOutput, StringComparison.Ordinal);

        // Without the middle, a new code connects them.
        await using (var alice = OfferAnswer("alice", "offer", aliceProfile, aliceKey, "--code", "43-kettle-orbit"))
        await using (var bob = OfferAnswer("bob", "answer", bobProfile, bobKey, "--code", "43-kettle-orbit"))
        {
            await bob.SendAsync((string)(await alice.NextEventAsync("offer-code"))["code"]!);
            await alice.SendAsync((string)(await bob.NextEventAsync("answer-code"))["code"]!);
            var connected = await alice.NextEventAsync("connected");
            Assert.Equal((true, "pinned"), ((bool?)connected["paired"], (string?)connected["contact"]));
            await alice.SendAsync("direct now");
            Assert.Equal("direct now", (string?)(await bob.NextEventAsync("chat-received"))["text"]);
            await alice.SendAsync("/quit");
            Assert.Equal(0, await alice.WaitForExitAsync());
            Assert.Equal(0, await bob.WaitForExitAsync());
        }
    }

    [Fact]
    public async Task Connect_ThroughARelayThatSwapsFingerprints_ReadsAFirstMeeting_ButNotOneWithAPairingCode()
    {
        using var temp = new TempFolder();
        var (aliceProfile, aliceKey) = NewProfile(temp, "alice");
        var (bobProfile, bobKey) = NewProfile(temp, "bob");
        await using (var relay = new FingerprintSwappingRelay())
        await using (var alice = ConnectTo(relay.Address, "alice", aliceProfile, aliceKey, "--room", "r"))
        await using (var bob = ConnectTo(relay.Address, "bob", bobProfile, bobKey, "--room", "r"))
        {
            await alice.NextEventAsync("connected");
            await AssertTheMiddleReadsAsync(relay.Middle, bob, alice, "meet at noon");
            await QuitBothAsync(alice, bob);
        }

        (aliceProfile, aliceKey) = NewProfile(temp, "alice2");
        (bobProfile, bobKey) = NewProfile(temp, "bob2");
        await using (var relay = new FingerprintSwappingRelay())
        await using (var alice = ConnectTo(relay.Address, "alice", aliceProfile, aliceKey, "--code", "5-lemon-otter"))
        await using (var bob = ConnectTo(relay.Address, "bob", bobProfile, bobKey, "--code", "5-lemon-otter"))
        {
            await AssertBothRefusedAsync(alice, bob);
        }
    }

    private static async Task AssertTheMiddleReadsAsync(FingerprintSwappingMiddle middle, RunningMessenger from, RunningMessenger to, string text)
    {
        await from.SendAsync(text);
        Assert.Equal(text, (string?)(await to.NextEventAsync("chat-received"))["text"]);
        Assert.Contains(text, middle.Seen, StringComparison.Ordinal);
    }

    private static async Task QuitBothAsync(RunningMessenger a, RunningMessenger b)
    {
        await a.SendAsync("/quit");
        await b.SendAsync("/quit");
        Assert.Equal(0, await a.WaitForExitAsync());
        Assert.Equal(0, await b.WaitForExitAsync());
    }

    private static async Task AssertBothRefusedAsync(RunningMessenger a, RunningMessenger b)
    {
        foreach (var peer in new[] { a, b })
        {
            Assert.Equal(6, await peer.WaitForExitAsync());
            Assert.Contains("the pairing code did not match (or someone between the peers changed the connection)", peer.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("\"connected\"", peer.Stdout, StringComparison.Ordinal);
        }
    }

    private static RunningMessenger ConnectTo(string relay, string name, string profile, string key, params string[] more) =>
        RunningMessenger.Start(name, null, ["connect", "--relay", relay, "--bind", "127.0.0.1", "--json", "--profile", profile, "--key-file", key, .. more]);

    private static RunningMessenger OfferAnswer(string name, string verb, string profile, string key, params string[] more) =>
        RunningMessenger.Start(name, null, [verb, "--bind", "127.0.0.1", "--json", "--profile", profile, "--key-file", key, .. more]);

    private static async Task PasteThroughAsync(FingerprintSwappingMiddle middle, RunningMessenger offerer, RunningMessenger answerer)
    {
        await answerer.SendAsync(middle.InterceptOffer((string)(await offerer.NextEventAsync("offer-code"))["code"]!));
        await offerer.SendAsync(middle.InterceptAnswer((string)(await answerer.NextEventAsync("answer-code"))["code"]!));
    }

    private static RunningMessenger Connect(Relay relay, string name, string profile, string key, string room, string? peer, params string[] more)
    {
        string[] args = ["connect", "--room", room, "--relay", relay.Address, "--bind", "127.0.0.1", "--json", "--profile", profile, "--key-file", key, .. peer is null ? [] : new[] { "--peer", peer }, .. more];
        return RunningMessenger.Start(name, null, args);
    }

    private static async Task<JsonObject> WhoamiAsync(TempFolder temp, string profile, string key)
    {
        var (exit, output) = await MessengerProcess.RunAsync(temp.Path, "whoami", "--json", "--profile", profile, "--key-file", key, "--plugins", RepoPlugins);
        Assert.True(exit == 0, output);
        return (JsonObject)JsonNode.Parse(output.Trim())!;
    }
}
