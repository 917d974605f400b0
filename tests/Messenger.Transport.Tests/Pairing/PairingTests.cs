using Messenger.TestSupport;
using Messenger.Transport.Dtls;
using Messenger.Transport.Pairing;
using Microsoft.Extensions.Time.Testing;

namespace Messenger.Transport.Tests.Pairing;

public sealed class PairingCodeTests
{
    [Fact]
    public void Generate_ParsesBackToItself_AndLooksLikeNumberWordWord()
    {
        for (var i = 0; i < 200; i++)
        {
            var code = PairingCode.Generate();
            Assert.Matches("^[1-9][0-9]{0,2}-[a-z]+-[a-z]+$", code.Text);
            Assert.Equal(code, PairingCode.Parse(code.Text));
        }
    }

    [Theory]
    [InlineData(" 7-Kettle-ORBIT ", "7-kettle-orbit")]
    [InlineData("7 kettle orbit", "7-kettle-orbit")]
    [InlineData("999-acid-orbit", "999-acid-orbit")]
    public void Parse_AcceptsCaseAndSpaces(string typed, string expected) => Assert.Equal(expected, PairingCode.Parse(typed).Text);

    [Theory]
    [InlineData("")]
    [InlineData("7-kettle")]
    [InlineData("0-kettle-orbit")]
    [InlineData("1000-kettle-orbit")]
    [InlineData("7-kettle-orbiter")]
    [InlineData("-7-kettle-orbit-x")]
    [InlineData("٧-kettle-orbit")]
    public void Parse_RefusesWhatIsNotACode(string typed) => Assert.Throws<FormatException>(() => PairingCode.Parse(typed));

    [Fact]
    public void Count_IsAboutSixtyFiveMillion() => Assert.Equal(999 * 256 * 256, PairingCode.Count);
}

public sealed class PairingHandshakeTests
{
    private static readonly DtlsFingerprint Alice = DtlsCertificate.Generate().Fingerprint;
    private static readonly DtlsFingerprint Bob = DtlsCertificate.Generate().Fingerprint;
    private static readonly DtlsFingerprint Mallory = DtlsCertificate.Generate().Fingerprint;

    [Fact]
    public async Task SameCodeAndFingerprints_BothSucceed_AndTheNextMessageIsLeftForTheSession()
    {
        await using var pair = InMemoryChannelPair.Create();
        var code = PairingCode.Generate();
        await Task.WhenAll(
            Run(pair.A, code, isOfferer: true, Alice, Bob),
            Run(pair.B, code, isOfferer: false, Bob, Alice));

        // Exactly three messages each were read: what follows belongs to the host's session.
        pair.A.Send([42]);
        await using var next = pair.B.ReceiveAllAsync().GetAsyncEnumerator();
        Assert.True(await next.MoveNextAsync());
        Assert.Equal([42], next.Current.Data.ToArray());
    }

    [Fact]
    public async Task DifferentCodes_BothFail_TheCodeDidNotMatch()
    {
        await using var pair = InMemoryChannelPair.Create();
        var results = await Both(
            Run(pair.A, PairingCode.Parse("7-kettle-orbit"), isOfferer: true, Alice, Bob),
            Run(pair.B, PairingCode.Parse("7-kettle-otter"), isOfferer: false, Bob, Alice));

        Assert.All(results, e => Assert.StartsWith("the pairing code did not match", Assert.IsType<PairingFailedException>(e).Message, StringComparison.Ordinal));
    }

    [Fact]
    public async Task SameCode_ButEachSeesAnotherCertificate_AsBehindARelayThatSwappedThem_BothFail()
    {
        // Alice's DTLS peer is Mallory and so is Bob's: each side hashes the fingerprints it saw.
        await using var pair = InMemoryChannelPair.Create();
        var code = PairingCode.Generate();
        var results = await Both(
            Run(pair.A, code, isOfferer: true, Alice, Mallory),
            Run(pair.B, code, isOfferer: false, Bob, Mallory));

        Assert.All(results, e => Assert.IsType<PairingFailedException>(e));
    }

    [Fact]
    public async Task PeerWithoutACode_SendsItsOwnFrames_RefusedAtOnce()
    {
        await using var pair = InMemoryChannelPair.Create();
        pair.B.Send([0x01, 0x02, 0x03, 0x04, 0x05]);
        var error = await Assert.ThrowsAsync<PairingFailedException>(() => Run(pair.A, PairingCode.Generate(), isOfferer: true, Alice, Bob));
        Assert.Contains("something else than a pairing message", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SilentPeer_FailsAfterTheTimeout_OnTheTestClock()
    {
        await using var pair = InMemoryChannelPair.Create();
        var clock = new FakeTimeProvider();
        var running = PairingHandshake.RunAsync(pair.A, PairingCode.Generate(), true, Alice, Bob, TimeSpan.FromSeconds(30), clock, CancellationToken.None);
        Assert.False(running.IsCompleted); // waiting for the peer's first step, its timer on the test clock
        clock.Advance(TimeSpan.FromSeconds(31));
        var error = await Assert.ThrowsAsync<PairingFailedException>(() => running);
        Assert.Contains("did not answer within 30 s", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PeerClosesDuringPairing_Fails()
    {
        await using var pair = InMemoryChannelPair.Create();
        var running = Run(pair.A, PairingCode.Generate(), isOfferer: true, Alice, Bob);
        await pair.B.CloseAsync();
        await Assert.ThrowsAsync<PairingFailedException>(() => running);
    }

    [Fact]
    public async Task PeerWithATinyMaxMessageSize_FailsAsAPairing_NotAnArgumentException()
    {
        await using var pair = new Messenger.Transport.Tests.DataChannels.DataChannelPair(remoteMaxMessageSize: 1000);
        await pair.StartAsync();
        var local = pair.A.CreateChannel("messenger");
        await Messenger.Transport.Tests.DataChannels.DataChannelPair.WaitForStateAsync(local, Messenger.Contracts.Channels.DataChannelState.Open);

        var error = await Assert.ThrowsAsync<PairingFailedException>(() => Run(local, PairingCode.Generate(), isOfferer: true, Alice, Bob));
        Assert.Contains("too small for pairing", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new byte[] { (byte)'M', (byte)'P', 1, 6 })] // six fields announced, none there
    [InlineData(new byte[] { (byte)'M', (byte)'P', 2, 3, 0, 1, 5, 0, 1, 5, 0, 1, 5 })] // step 2 where step 1 is due
    [InlineData(new byte[] { (byte)'M', (byte)'P', 1, 1, 0, 1, 5 })] // step 1 with one field
    [InlineData(new byte[] { (byte)'M', (byte)'P', 3, 1, 0, 0 })] // an empty field
    [InlineData(new byte[] { (byte)'M', (byte)'P', 3, 1, 0xFF, 0xFF, 1 })] // a field longer than the message
    [InlineData(new byte[] { (byte)'M', (byte)'P', 3, 1, 0, 1, 5, 9 })] // trailing bytes
    public void Parse_HostileMessages_AreTypedFailures(byte[] message)
    {
        var round = message[2] == 3 ? (byte)3 : (byte)1;
        Assert.Throws<PairingFailedException>(() => PairingHandshake.Parse(message, isText: false, round));
    }

    [Fact]
    public void Parse_TextOrOversized_Refused()
    {
        Assert.Throws<PairingFailedException>(() => PairingHandshake.Parse("MP"u8.ToArray().Concat(new byte[] { 3, 1, 0, 1, 5 }).ToArray(), isText: true, 3));
        Assert.Throws<PairingFailedException>(() => PairingHandshake.Parse(new byte[100_000], isText: false, 1));
    }

    [Fact]
    public async Task ValidNumbersThatAreNotAGroupElement_FailAsCrypto_NotACrash()
    {
        // Well-formed messages whose numbers are garbage: the zero-knowledge proofs do not verify.
        await using var pair = InMemoryChannelPair.Create();
        var running = Run(pair.A, PairingCode.Generate(), isOfferer: true, Alice, Bob);
        var fields = Enumerable.Repeat(new byte[] { 0, 2, 1, 1 }, 6).SelectMany(f => f);
        pair.B.Send([(byte)'M', (byte)'P', 1, 6, .. fields]);
        var error = await Assert.ThrowsAsync<PairingFailedException>(() => running);
        Assert.StartsWith("the pairing code did not match", error.Message, StringComparison.Ordinal);
    }

    private static Task Run(Messenger.Contracts.Channels.IDataChannel channel, PairingCode code, bool isOfferer, DtlsFingerprint local, DtlsFingerprint remote) =>
        PairingHandshake.RunAsync(channel, code, isOfferer, local, remote, TimeSpan.FromSeconds(30), TimeProvider.System, CancellationToken.None);

    private static async Task<Exception?[]> Both(Task a, Task b)
    {
        async Task<Exception?> Catch(Task t)
        {
            try
            {
                await t;
                return null;
            }
            catch (Exception e)
            {
                return e;
            }
        }

        return await Task.WhenAll(Catch(a), Catch(b));
    }
}
