using System.Net;
using System.Text.Json.Nodes;
using Messenger.TestSupport;
using Messenger.Transport;
using Messenger.Transport.Dtls;
using Messenger.Transport.Ice;
using Messenger.Transport.Sdp;
using Xunit.Abstractions;

namespace Messenger.Interop.Tests;

/// <summary>
/// Our PeerConnection against aiortc 1.4 (Debian <c>python3-aiortc</c>, a Python WebRTC stack) run by
/// peers/aiortc/peer.py under the system Python (<c>/usr/bin/python3</c>; a pyenv <c>python3</c> lacks the package).
/// aiortc moves data at a few MB/s, so the 64 MiB legs take tens of seconds each.
/// </summary>
[Collection(InteropCollection.Name)]
public sealed class AiortcInteropTests(ITestOutputHelper output)
{
    private const string Python = "/usr/bin/python3";

    private static string PeerScript => Path.Combine(RepoPaths.RepoRoot, "tests", "Messenger.Interop.Tests", "peers", "aiortc", "peer.py");

    [Fact]
    public async Task Messenger_offers_aiortc_answers()
    {
        await using var aiortc = await StartPeerAsync();
        var result = await InteropScenario.RunAsync(aiortc, messengerOffers: true, output);
        Assert.True(result.MessengerOffered);
    }

    [Fact]
    public async Task Aiortc_offers_messenger_answers()
    {
        await using var aiortc = await StartPeerAsync();
        var result = await InteropScenario.RunAsync(aiortc, messengerOffers: false, output);
        Assert.False(result.MessengerOffered);
    }

    /// <summary>
    /// A man in the middle who rewrote aiortc's a=fingerprint on the way to us: aiortc's real certificate no longer
    /// matches, so our DTLS server aborts the handshake with a clear error, and aiortc (the client) fails too.
    /// </summary>
    [Fact]
    public async Task Fingerprint_swapped_in_aiortc_answer_fails_the_connection_on_our_side()
    {
        LoopbackOnlyNetwork.Require();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var ct = cts.Token;
        await using var aiortc = await StartPeerAsync(ct);
        await using var pc = NewPeerConnection(aiortc);
        var mallory = DtlsCertificate.Generate().Fingerprint;

        var offer = pc.CreateOffer();
        pc.SetLocalDescription(offer);
        await aiortc.SendAsync(new JsonObject { ["type"] = "offer", ["sdp"] = offer.ToString() }, ct);
        var messages = aiortc.ReadAllAsync(ct).GetAsyncEnumerator(ct);
        await using var _ = messages;
        Assert.True(await messages.MoveNextAsync(), "aiortc exited without answering");
        Assert.Equal("answer", (string?)messages.Current["type"]);
        var answer = SessionDescription.Parse((string)messages.Current["sdp"]!, SdpType.Answer);
        Assert.NotEqual(mallory, answer.Fingerprint);
        pc.SetRemoteDescription(answer with { Fingerprint = mallory });

        var error = await Assert.ThrowsAsync<PeerConnectionException>(() => pc.Connected.WaitAsync(ct));
        output.WriteLine($"our side: {error.Message}");
        Assert.Equal(PeerConnectionState.Failed, pc.ConnectionState);
        Assert.Contains("does not match the fingerprint in its SDP", error.Message, StringComparison.Ordinal);
        Assert.Contains(mallory.ToString(), error.Message, StringComparison.Ordinal);
        Assert.Contains(answer.Fingerprint.ToString(), error.Message, StringComparison.Ordinal);
        Assert.IsType<DtlsFingerprintMismatchException>(error.InnerException);

        // aiortc never got a channel up: our bad_certificate alert ended its handshake.
        await AssertPeerFailedAsync(aiortc, messages, ct);
    }

    /// <summary>
    /// The same man in the middle on the other leg: our answer's a=fingerprint rewritten on its way to aiortc.
    /// aiortc (the DTLS server) finishes the handshake, finds our certificate does not match, and fails without an
    /// alert (aiortc 1.4 checks the fingerprint only after the handshake), so our side sees DTLS up and SCTP never
    /// answering: it fails when the association does not come up in time.
    /// </summary>
    [Fact]
    public async Task Fingerprint_swapped_in_our_answer_makes_aiortc_refuse_and_our_side_fail()
    {
        LoopbackOnlyNetwork.Require();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var ct = cts.Token;
        await using var aiortc = await StartPeerAsync(ct);
        await using var pc = NewPeerConnection(aiortc, TimeSpan.FromSeconds(3));
        var mallory = DtlsCertificate.Generate().Fingerprint;

        await aiortc.SendAsync(new JsonObject { ["type"] = "start" }, ct);
        var messages = aiortc.ReadAllAsync(ct).GetAsyncEnumerator(ct);
        await using var _ = messages;
        Assert.True(await messages.MoveNextAsync(), "aiortc exited without offering");
        Assert.Equal("offer", (string?)messages.Current["type"]);
        pc.SetRemoteDescription(SessionDescription.Parse((string)messages.Current["sdp"]!, SdpType.Offer));
        var answer = pc.CreateAnswer();
        pc.SetLocalDescription(answer);
        await aiortc.SendAsync(new JsonObject { ["type"] = "answer", ["sdp"] = (answer with { Fingerprint = mallory }).ToString() }, ct);

        var error = await Assert.ThrowsAsync<PeerConnectionException>(() => pc.Connected.WaitAsync(ct));
        output.WriteLine($"our side: {error.Message}");
        Assert.Equal(PeerConnectionState.Failed, pc.ConnectionState);
        Assert.Contains("SCTP association did not come up", error.Message, StringComparison.Ordinal);
        await AssertPeerFailedAsync(aiortc, messages, ct);
    }

    private static PeerConnection NewPeerConnection(IRemotePeer remote, TimeSpan? dtlsHandshakeTimeout = null)
    {
        var options = new PeerConnectionOptions { Ice = new IceTransportOptions { BindAddress = IPAddress.Loopback } };
        var pc = new PeerConnection(dtlsHandshakeTimeout is { } timeout ? options with { DtlsHandshakeTimeout = timeout } : options);
        pc.LocalCandidate += (_, candidate) => _ = remote.SendAsync(
            new JsonObject { ["type"] = "candidate", ["candidate"] = candidate?.ToString() ?? "", ["sdpMid"] = "0" }, CancellationToken.None);
        return pc;
    }

    /// <summary>The peer reports an error, never an open channel, and exits non-zero.</summary>
    private async Task AssertPeerFailedAsync(IRemotePeer peer, IAsyncEnumerator<JsonObject> messages, CancellationToken ct)
    {
        var reported = new List<string>();
        while (await messages.MoveNextAsync())
        {
            reported.Add(messages.Current.ToJsonString());
        }

        output.WriteLine($"{peer.Name} reported: {string.Join(", ", reported)}");
        Assert.DoesNotContain(reported, m => m.Contains("\"open\"", StringComparison.Ordinal));
        Assert.Contains(reported, m => m.Contains("\"error\"", StringComparison.Ordinal));
        Assert.NotEqual(0, await peer.WaitForExitAsync(ct));
    }

    /// <summary>Starts the peer and waits for its "ready" (it has loaded aiortc), so setup times exclude Python's start-up.</summary>
    private async Task<ProcessRemotePeer> StartPeerAsync(CancellationToken cancellationToken = default)
    {
        Assert.True(File.Exists(Python), $"{Python} is missing: the aiortc peer needs the system Python with python3-aiortc (apt-get install python3-aiortc).");
        var peer = ProcessRemotePeer.Start("aiortc", Python, [PeerScript], output);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            await using var messages = peer.ReadAllAsync(timeout.Token).GetAsyncEnumerator(timeout.Token);
            Assert.True(await messages.MoveNextAsync(), "the aiortc peer exited before it was ready (is python3-aiortc installed?)");
            Assert.Equal("ready", (string?)messages.Current["type"]);
            return peer;
        }
        catch
        {
            await peer.DisposeAsync();
            throw;
        }
    }
}
