using System.Diagnostics;
using System.Net;
using Messenger.Contracts.Channels;
using Messenger.Transport;
using Messenger.Transport.Ice;

namespace Messenger.Cli.Demo;

/// <summary>
/// The demo's two peers joined by the real stack on 127.0.0.1: SDP offer/answer handed over in-process, ICE over UDP,
/// DTLS 1.2, SCTP, and one data channel that both sessions run on.
/// </summary>
internal sealed class LoopbackLink : IAsyncDisposable
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(20);

    private readonly InProcessPair _pair;

    private LoopbackLink(InProcessPair pair, TimeSpan connectTime)
    {
        _pair = pair;
        ConnectTime = connectTime;
    }

    public IDataChannel AliceChannel => _pair.OffererChannel;

    public IDataChannel BobChannel => _pair.AnswererChannel;

    /// <summary>From the offer to the channel open on both sides.</summary>
    public TimeSpan ConnectTime { get; }

    public string Fingerprints => $"Alice {_pair.Offerer.LocalDescription?.Fingerprint}, Bob {_pair.Answerer.LocalDescription?.Fingerprint}";

    /// <summary>Alice's peer id as Bob knows her: her certificate's fingerprint, which the handshake checked.</summary>
    public string AliceId => ProfileIdentity.PeerIdOf(_pair.Answerer.RemoteCertificateFingerprint!);

    /// <summary>Bob's peer id as Alice knows him.</summary>
    public string BobId => ProfileIdentity.PeerIdOf(_pair.Offerer.RemoteCertificateFingerprint!);

    /// <summary>Alice offers, Bob answers (the same text a person would paste between two terminals), one channel.</summary>
    public static async Task<LoopbackLink> ConnectAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var options = new PeerConnectionOptions { Ice = new IceTransportOptions { BindAddress = IPAddress.Loopback } };
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(ConnectTimeout);
        try
        {
            var pair = await InProcessPair.ConnectAsync(options, options, "messenger", limit.Token);
            return new LoopbackLink(pair, clock.Elapsed);
        }
        catch (Exception ex) when (ex is PeerConnectionException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            var why = ex is PeerConnectionException ? ex.Message : $"no channel within {ConnectTimeout.TotalSeconds:0} s";
            throw new CliException($"The two demo peers could not connect over 127.0.0.1: {why}");
        }
    }

    public ValueTask DisposeAsync() => _pair.DisposeAsync();
}
