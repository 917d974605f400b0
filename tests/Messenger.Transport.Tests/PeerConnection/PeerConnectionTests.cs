using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Messenger.Contracts.Channels;
using Messenger.Transport.Dtls;
using Messenger.Transport.Ice;
using Messenger.Transport.Sdp;
using Messenger.Transport.Tests.DataChannels;
using Messenger.Transport.Tests.Dtls;
using Xunit.Abstractions;

namespace Messenger.Transport.Tests.PeerConnection;

using PeerConnection = Messenger.Transport.PeerConnection;

/// <summary>Two C# peer connections over UDP on 127.0.0.1: SDP as text, ICE, DTLS, SCTP, data channels.</summary>
[Collection(PeerConnectionCollection.Name)]
public class PeerConnectionTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private static PeerConnectionOptions Options(TimeSpan? checkingTimeout = null, bool batchedIo = true) => new()
    {
        Ice = new IceTransportOptions
        {
            BindAddress = IPAddress.Loopback,
            ConfigureAgent = o => o with { CheckingTimeout = checkingTimeout ?? TimeSpan.FromSeconds(10) },
            BatchedReceive = batchedIo,
            UdpSegmentationOffload = batchedIo,
        },
        DtlsHandshakeTimeout = TimeSpan.FromSeconds(10),
    };

    /// <summary>Offer/answer through SDP text, candidates trickled as well as inline.</summary>
    private static (PeerConnection Offerer, PeerConnection Answerer) Negotiate(Func<string, string>? tamperAnswer = null, Func<SessionDescription, SessionDescription>? editAnswer = null, bool batchedIo = true)
    {
        var a = new PeerConnection(Options(batchedIo: batchedIo));
        var b = new PeerConnection(Options(batchedIo: batchedIo));
        a.LocalCandidate += (_, c) => b.AddRemoteCandidate(c);
        b.LocalCandidate += (_, c) => a.AddRemoteCandidate(c);

        var offer = a.CreateOffer();
        a.SetLocalDescription(offer);
        b.SetRemoteDescription(SessionDescription.Parse(offer.ToString(), SdpType.Offer));
        var answer = (editAnswer ?? (static d => d))(b.CreateAnswer());
        b.SetLocalDescription(answer);
        var answerText = (tamperAnswer ?? (static t => t))(answer.ToString());
        a.SetRemoteDescription(SessionDescription.Parse(answerText, SdpType.Answer));
        return (a, b);
    }

    private static async Task<(PeerConnection A, PeerConnection B, IDataChannel Local, IDataChannel Remote)> ConnectWithChannelAsync(string label = "chat", bool batchedIo = true)
    {
        var (a, b) = Negotiate(batchedIo: batchedIo);
        var (local, remote) = await DataChannelPair.OpenAsync(a, b, label);
        return (a, b, local, remote);
    }

    [Fact]
    public async Task PeerIgnoresOurMaxMessageSize_ConnectionAbortsWithTheReasonOnBothSides()
    {
        // Alice is made to believe Bob takes 8 MiB; Bob's description says 256 KiB.
        var (a, b) = Negotiate(tamperAnswer: t => t.Replace("a=max-message-size:262144", "a=max-message-size:8388608", StringComparison.Ordinal));
        await using var _ = a;
        await using var __ = b;
        var (local, bobs) = await DataChannelPair.OpenAsync(a, b, "chat");

        local.Send(new byte[6 * 1024 * 1024]);
        await foreach (var m in bobs.ReceiveAllAsync().WithCancellation(new CancellationTokenSource(Wait).Token))
        {
            Assert.Fail($"a message of {m.Data.Length} bytes was delivered");
        }

        await DataChannelPair.WaitForStateAsync(local, DataChannelState.Closed);
        Assert.Contains("larger than 262144 bytes", b.AbortReason, StringComparison.Ordinal);
        Assert.Contains("The peer aborted", a.AbortReason, StringComparison.Ordinal);
        Assert.Equal(b.RemoteCertificateFingerprint, a.LocalDescription!.Fingerprint);
    }

    private static async Task<List<DataChannelMessage>> ReceiveAsync(IDataChannel channel, int count)
    {
        var received = new List<DataChannelMessage>();
        await foreach (var message in channel.ReceiveAllAsync().WithCancellation(new CancellationTokenSource(Wait).Token))
        {
            received.Add(message);
            if (received.Count == count)
            {
                break;
            }
        }

        return received;
    }

    [Fact]
    public async Task Connect_OfferAnswerOverLoopback_OpensChannelAndCarriesTextAndBinary()
    {
        var started = Stopwatch.GetTimestamp();
        var (a, b, local, remote) = await ConnectWithChannelAsync();
        var elapsed = Stopwatch.GetElapsedTime(started);
        await using var _ = a;
        await using var __ = b;

        local.SendText("hej från C#");
        local.Send([0, 1, 2, 255]);
        remote.SendText("reply");
        var received = await ReceiveAsync(remote, 2);
        var reply = await ReceiveAsync(local, 1);

        Assert.Equal("chat", remote.Label);
        Assert.True(received[0].IsText);
        Assert.Equal("hej från C#", Encoding.UTF8.GetString(received[0].Data.Span));
        Assert.Equal(new byte[] { 0, 1, 2, 255 }, received[1].Data.ToArray());
        Assert.Equal("reply", Encoding.UTF8.GetString(reply[0].Data.Span));
        Assert.Equal(PeerConnectionState.Connected, a.ConnectionState);
        Assert.Equal(IceConnectionState.Completed, a.IceConnectionState);
        output.WriteLine($"offer/answer to an open data channel over loopback (cold, includes certificate generation): {elapsed.TotalMilliseconds:0} ms");
    }

    [Fact]
    public async Task Send_MessageOfRemoteMaxMessageSize_ArrivesAndOneByteMoreIsRefused()
    {
        var (a, b, local, remote) = await ConnectWithChannelAsync();
        await using var _ = a;
        await using var __ = b;
        var message = RandomNumberGenerator.GetBytes(a.RemoteMaxMessageSize);

        local.Send(message);
        var received = await ReceiveAsync(remote, 1);

        Assert.Equal(262144, a.RemoteMaxMessageSize);
        Assert.Equal(262144, local.MaxMessageSize);
        Assert.Equal(message, received[0].Data.ToArray());
        Assert.Throws<ArgumentException>(() => local.Send(new byte[a.RemoteMaxMessageSize + 1]));
    }

    [Fact]
    public async Task Connect_AnswerWithoutMaxMessageSize_LimitsSendsTo64KiB()
    {
        var (a, b) = Negotiate(editAnswer: d => d with { MaxMessageSize = null });
        await using var _ = a;
        await using var __ = b;
        await Task.WhenAll(a.Connected, b.Connected).WaitAsync(Wait);

        var channel = a.CreateDataChannel("small");

        Assert.Equal(65536, a.RemoteMaxMessageSize);
        Assert.Equal(65536, channel.MaxMessageSize);
    }

    /// <summary>Both socket paths: recvmmsg/GRO + GSO where Linux has them, and the portable one datagram per call.</summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Transfer_64MiB_ArrivesWithEqualSha256AndThroughputIsPrinted(bool batchedIo)
    {
        const int Total = 64 * 1024 * 1024;
        const int MessageSize = 64 * 1024;
        var (a, b, local, remote) = await ConnectWithChannelAsync("bulk", batchedIo);
        await using var _ = a;
        await using var __ = b;
        local.BufferedAmountLowThreshold = 1024 * 1024;

        var receiving = Task.Run(async () =>
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long bytes = 0;
            await foreach (var message in remote.ReceiveAllAsync().WithCancellation(new CancellationTokenSource(TimeSpan.FromSeconds(40)).Token))
            {
                hash.AppendData(message.Data.Span);
                bytes += message.Data.Length;
                message.Release();
                if (bytes >= Total)
                {
                    break;
                }
            }

            return (bytes, hash.GetHashAndReset());
        });
        using var senderHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var random = new Random(8831);
        var buffer = new byte[MessageSize];
        var started = Stopwatch.GetTimestamp();
        for (var sent = 0; sent < Total; sent += MessageSize)
        {
            if (local.BufferedAmount > 4 * 1024 * 1024)
            {
                await local.WaitForBufferedAmountLowAsync().AsTask().WaitAsync(Wait);
            }

            random.NextBytes(buffer);
            senderHash.AppendData(buffer);
            local.Send(buffer);
        }

        var (receivedBytes, receivedHash) = await receiving.WaitAsync(TimeSpan.FromSeconds(45));
        var elapsed = Stopwatch.GetElapsedTime(started);

        Assert.Equal(Total, receivedBytes);
        Assert.Equal(senderHash.GetHashAndReset(), receivedHash);
        output.WriteLine($"PeerConnection C#→C# over loopback UDP ({(batchedIo ? "recvmmsg/GRO + GSO" : "one datagram per call")}): 64 MiB in {elapsed.TotalMilliseconds:0} ms = {Total / elapsed.TotalSeconds / 1e6:0.0} MB/s");
    }

    [Fact]
    public async Task Close_Offerer_BothEndClosedAndChannelCloses()
    {
        var (a, b, local, remote) = await ConnectWithChannelAsync();
        await using var __ = b;
        var bClosed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        b.ConnectionStateChanged += (_, state) =>
        {
            if (state == PeerConnectionState.Closed)
            {
                bClosed.TrySetResult();
            }
        };

        await a.CloseAsync().WaitAsync(Wait);
        await bClosed.Task.WaitAsync(Wait);

        Assert.Equal(PeerConnectionState.Closed, a.ConnectionState);
        Assert.Equal(PeerConnectionState.Closed, b.ConnectionState);
        Assert.Equal(DataChannelState.Closed, local.State);
        Assert.Null(a.Error);
        Assert.Null(b.Error);
        await a.DisposeAsync();
    }

    [Fact]
    public async Task Connect_FingerprintSwappedInAnswer_FailsWithManInTheMiddleError()
    {
        var mallory = DtlsCertificate.Generate();
        var (a, b) = Negotiate(tamperAnswer: text =>
        {
            var start = text.IndexOf("a=fingerprint:", StringComparison.Ordinal);
            var end = text.IndexOf("\r\n", start, StringComparison.Ordinal);
            return string.Concat(text.AsSpan(0, start), "a=fingerprint:" + mallory.Fingerprint, text.AsSpan(end));
        });
        await using var _ = a;
        await using var __ = b;

        var error = await Assert.ThrowsAsync<PeerConnectionException>(() => a.Connected.WaitAsync(Wait));
        await Assert.ThrowsAsync<PeerConnectionException>(() => b.Connected.WaitAsync(Wait));

        Assert.Equal(PeerConnectionState.Failed, a.ConnectionState);
        Assert.Equal(PeerConnectionState.Failed, b.ConnectionState);
        Assert.Contains("does not match the fingerprint in its SDP", error.Message, StringComparison.Ordinal);
        Assert.Contains(mallory.Fingerprint.ToString(), error.Message, StringComparison.Ordinal);
        Assert.IsType<DtlsFingerprintMismatchException>(error.InnerException);
    }

    [Fact]
    public async Task Connect_RemoteNeverAnswers_FailsWithinCheckingTimeout()
    {
        using var silent = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        silent.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        await using var a = new PeerConnection(Options(checkingTimeout: TimeSpan.FromSeconds(2)));
        var offer = a.CreateOffer();
        a.SetLocalDescription(offer);
        var (ufrag, pwd) = SessionDescription.NewIceCredentials();
        var port = ((IPEndPoint)silent.LocalEndPoint!).Port;
        var started = Stopwatch.GetTimestamp();

        a.SetRemoteDescription(new SessionDescription
        {
            Type = SdpType.Answer,
            IceUfrag = ufrag,
            IcePwd = pwd,
            Fingerprint = DtlsCertificate.Generate().Fingerprint,
            Setup = DtlsSetup.Active,
            Candidates = [new IceCandidate { Foundation = "1", Priority = 2130706431, Address = "127.0.0.1", Port = port, Type = IceCandidateType.Host }],
        });
        var early = a.CreateDataChannel("created before the failure");
        var error = await Assert.ThrowsAsync<PeerConnectionException>(() => a.Connected.WaitAsync(Wait));
        var elapsed = Stopwatch.GetElapsedTime(started);
        await DataChannelPair.WaitForStateAsync(early, DataChannelState.Closed); // not left waiting for an open

        Assert.Equal(PeerConnectionState.Failed, a.ConnectionState);
        Assert.Equal(IceConnectionState.Failed, a.IceConnectionState);
        Assert.StartsWith("ICE failed", error.Message, StringComparison.Ordinal);
        Assert.InRange(elapsed, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(4));
    }

    [Fact]
    public async Task Connect_TrickleOnly_CandidatesArriveOutsideTheSdp()
    {
        await using var a = new PeerConnection(Options());
        await using var b = new PeerConnection(Options());
        var trickled = 0;
        a.LocalCandidate += (_, c) =>
        {
            Interlocked.Increment(ref trickled);
            b.AddRemoteCandidate(c is null ? null : IceCandidate.Parse(c.ToString())); // as text, like a signalling server
        };
        b.LocalCandidate += (_, c) => a.AddRemoteCandidate(c is null ? null : IceCandidate.Parse("a=" + c));

        var offer = a.CreateOffer();
        a.SetLocalDescription(offer);
        b.SetRemoteDescription(offer with { Candidates = [], EndOfCandidates = false });
        var answer = b.CreateAnswer();
        b.SetLocalDescription(answer);
        a.SetRemoteDescription(answer with { Candidates = [], EndOfCandidates = false });
        await Task.WhenAll(a.Connected, b.Connected).WaitAsync(Wait);

        Assert.Equal(2, trickled); // one host candidate, then end-of-candidates
        Assert.Equal(PeerConnectionState.Connected, b.ConnectionState);
    }

    [Fact]
    public async Task Connect_ViaCopyPasteBlobs_ConnectsAndPrintsWarmConnectTime()
    {
        // First connection warms the JIT; the second one is timed from offer to both sides Connected.
        for (var round = 0; round < 2; round++)
        {
            var certificateA = DtlsLoopback.ClientCertificate;
            var certificateB = DtlsLoopback.ServerCertificate;
            await using var a = new PeerConnection(Options() with { Certificate = certificateA });
            await using var b = new PeerConnection(Options() with { Certificate = certificateB });
            var started = Stopwatch.GetTimestamp();
            var iceConnected = TimeSpan.Zero;
            a.IceConnectionStateChanged += (_, state) =>
            {
                if (state == IceConnectionState.Completed && iceConnected == TimeSpan.Zero)
                {
                    iceConnected = Stopwatch.GetElapsedTime(started);
                }
            };

            var offer = a.CreateOffer();
            a.SetLocalDescription(offer);
            b.SetRemoteDescription(SdpBlob.Decode(SdpBlob.Encode(offer)));
            var answer = b.CreateAnswer();
            b.SetLocalDescription(answer);
            a.SetRemoteDescription(SdpBlob.Decode(SdpBlob.Encode(answer)));
            await Task.WhenAll(a.Connected, b.Connected).WaitAsync(Wait);
            var elapsed = Stopwatch.GetElapsedTime(started);

            Assert.Equal(PeerConnectionState.Connected, a.ConnectionState);
            if (round == 1)
            {
                output.WriteLine($"warm connect (offer → ICE → DTLS → SCTP up on both sides) over loopback: {elapsed.TotalMilliseconds:0.0} ms (ICE {iceConnected.TotalMilliseconds:0.0} ms); offer blob {SdpBlob.Encode(offer).Length} chars");
            }
        }
    }

    [Fact]
    public async Task CreateDataChannel_BeforeConnected_OpensOnceUpAndCarriesMessage()
    {
        var (a, b) = Negotiate();
        await using var _ = a;
        await using var __ = b;
        var remote = new TaskCompletionSource<IDataChannel>(TaskCreationOptions.RunContinuationsAsynchronously);
        b.DataChannel += (_, channel) => remote.TrySetResult(channel);

        var local = a.CreateDataChannel("early"); // right after negotiation, as browsers allow
        Assert.Equal(DataChannelState.Connecting, local.State);
        await DataChannelPair.WaitForStateAsync(local, DataChannelState.Open);
        local.SendText("first");
        var channel = await remote.Task.WaitAsync(Wait);
        var received = await ReceiveAsync(channel, 1);

        Assert.Equal("early", channel.Label);
        Assert.Equal("first", Encoding.UTF8.GetString(received[0].Data.Span));
    }

    [Fact]
    public async Task CreateAnswer_FromOffer_IsActiveWithSameMidAndOurCredentials()
    {
        await using var a = new PeerConnection(Options());
        await using var b = new PeerConnection(Options());
        var offer = a.CreateOffer();
        b.SetRemoteDescription(offer);

        var answer = b.CreateAnswer();

        Assert.Equal(DtlsSetup.ActPass, offer.Setup);
        Assert.Equal(DtlsSetup.Active, answer.Setup);
        Assert.Equal(offer.Mid, answer.Mid);
        Assert.NotEqual(offer.IceUfrag, answer.IceUfrag);
        Assert.Equal("127.0.0.1", Assert.Single(offer.Candidates).Address);
        Assert.True(offer.EndOfCandidates);
        Assert.Throws<InvalidOperationException>(() => b.CreateDataChannel("too early")); // our answer is not set yet
    }

    [Fact]
    public async Task AcceptDataChannelAsync_CalledAfterTheChannelArrived_StillReturnsIt()
    {
        var (a, b) = Negotiate();
        await using var _ = a;
        await using var __ = b;
        var raised = new TaskCompletionSource<IDataChannel>(TaskCreationOptions.RunContinuationsAsynchronously);
        b.DataChannel += (_, channel) => raised.TrySetResult(channel);
        using var limit = new CancellationTokenSource(Wait);
        var local = await a.OpenDataChannelAsync("late reader", limit.Token);
        var arrived = await raised.Task.WaitAsync(Wait);

        var accepted = await b.AcceptDataChannelAsync(limit.Token); // no handler was registered before it arrived

        Assert.Same(arrived, accepted);
        Assert.Equal(DataChannelState.Open, accepted.State);
        local.SendText("hello");
        Assert.Equal("hello", Encoding.UTF8.GetString((await ReceiveAsync(accepted, 1))[0].Data.Span));
    }

    [Fact]
    public async Task AcceptDataChannelAsync_ConnectionClosedBeforeAnyChannel_ThrowsPeerConnectionException()
    {
        var (a, b) = Negotiate();
        await using var _ = a;
        await b.Connected.WaitAsync(Wait);
        var accepting = b.AcceptDataChannelAsync(new CancellationTokenSource(Wait).Token);

        await b.CloseAsync();

        var error = await Assert.ThrowsAsync<PeerConnectionException>(() => accepting);
        Assert.Contains("closed before the peer opened a data channel", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenDataChannelAsync_BeforeTheDescriptionsAreSet_ThrowsInvalidOperation()
    {
        await using var a = new PeerConnection(Options());

        await Assert.ThrowsAsync<InvalidOperationException>(() => a.OpenDataChannelAsync("too early"));
    }
}
