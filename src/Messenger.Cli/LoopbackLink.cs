using System.Diagnostics;
using System.Net;
using Messenger.Contracts.Channels;
using Messenger.Transport;
using Messenger.Transport.Ice;
using Messenger.Transport.Sdp;

namespace Messenger.Cli;

/// <summary>
/// The demo's two peers joined by the real stack on 127.0.0.1: SDP offer/answer handed over in-process, ICE over UDP,
/// DTLS 1.2, SCTP, and one data channel that both sessions run on.
/// </summary>
internal sealed class LoopbackLink : IAsyncDisposable
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(20);

    private readonly PeerConnection _alice;
    private readonly PeerConnection _bob;

    private LoopbackLink(PeerConnection alice, PeerConnection bob, IDataChannel aliceChannel, IDataChannel bobChannel, TimeSpan connectTime)
    {
        _alice = alice;
        _bob = bob;
        AliceChannel = aliceChannel;
        BobChannel = bobChannel;
        ConnectTime = connectTime;
    }

    public IDataChannel AliceChannel { get; }

    public IDataChannel BobChannel { get; }

    /// <summary>From the offer to the channel open on both sides.</summary>
    public TimeSpan ConnectTime { get; }

    public string Fingerprints => $"Alice {_alice.LocalDescription?.Fingerprint}, Bob {_bob.LocalDescription?.Fingerprint}";

    /// <summary>Alice's peer id as Bob knows her: her certificate's fingerprint, which the handshake checked.</summary>
    public string AliceId => ProfileIdentity.PeerIdOf(_bob.RemoteCertificateFingerprint!);

    /// <summary>Bob's peer id as Alice knows him.</summary>
    public string BobId => ProfileIdentity.PeerIdOf(_alice.RemoteCertificateFingerprint!);

    public static async Task<LoopbackLink> ConnectAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var options = new PeerConnectionOptions { Ice = new IceTransportOptions { BindAddress = IPAddress.Loopback } };
        var alice = new PeerConnection(options);
        var bob = new PeerConnection(options);
        try
        {
            alice.LocalCandidate += (_, candidate) => bob.AddRemoteCandidate(candidate);
            bob.LocalCandidate += (_, candidate) => alice.AddRemoteCandidate(candidate);
            var opened = new TaskCompletionSource<IDataChannel>(TaskCreationOptions.RunContinuationsAsynchronously);
            bob.DataChannel += (_, channel) => opened.TrySetResult(channel);

            // The same text a person would paste between two terminals: offer from Alice, answer from Bob.
            var offer = alice.CreateOffer();
            alice.SetLocalDescription(offer);
            bob.SetRemoteDescription(SessionDescription.Parse(offer.ToString(), SdpType.Offer));
            var answer = bob.CreateAnswer();
            bob.SetLocalDescription(answer);
            alice.SetRemoteDescription(SessionDescription.Parse(answer.ToString(), SdpType.Answer));

            await Task.WhenAll(alice.Connected, bob.Connected).WaitAsync(ConnectTimeout, cancellationToken);
            var aliceChannel = alice.CreateDataChannel("messenger");
            await WaitOpenAsync(aliceChannel, cancellationToken);
            var bobChannel = await opened.Task.WaitAsync(ConnectTimeout, cancellationToken);
            await WaitOpenAsync(bobChannel, cancellationToken);
            return new LoopbackLink(alice, bob, aliceChannel, bobChannel, clock.Elapsed);
        }
        catch (Exception ex) when (ex is TimeoutException or PeerConnectionException)
        {
            await alice.DisposeAsync();
            await bob.DisposeAsync();
            throw new CliException($"The two demo peers could not connect over 127.0.0.1: {alice.Error?.Message ?? bob.Error?.Message ?? ex.Message}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _alice.DisposeAsync();
        await _bob.DisposeAsync();
    }

    private static async Task WaitOpenAsync(IDataChannel channel, CancellationToken cancellationToken)
    {
        var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        channel.StateChanged += (_, state) =>
        {
            if (state == DataChannelState.Open)
            {
                open.TrySetResult();
            }
        };
        if (channel.State != DataChannelState.Open)
        {
            await open.Task.WaitAsync(ConnectTimeout, cancellationToken);
        }
    }
}
