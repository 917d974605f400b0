using Messenger.Contracts.Channels;
using Messenger.Transport.Sdp;

namespace Messenger.Transport;

/// <summary>
/// Two connections of one process joined directly, with no signaling (the descriptions and candidates are handed
/// across as text, as a person would paste them): the demo, the transport's warm-up, tests and benchmarks.
/// </summary>
public sealed class InProcessPair : IAsyncDisposable
{
    private InProcessPair(PeerConnection offerer, PeerConnection answerer, IDataChannel offererChannel, IDataChannel answererChannel)
    {
        Offerer = offerer;
        Answerer = answerer;
        OffererChannel = offererChannel;
        AnswererChannel = answererChannel;
    }

    /// <summary>The side that offered and opened the channel.</summary>
    public PeerConnection Offerer { get; }

    /// <summary>The side that answered and accepted the channel.</summary>
    public PeerConnection Answerer { get; }

    /// <summary>The offerer's end of the channel, Open.</summary>
    public IDataChannel OffererChannel { get; }

    /// <summary>The answerer's end of the channel, Open.</summary>
    public IDataChannel AnswererChannel { get; }

    /// <summary>Candidates trickle across; <paramref name="offerer"/> offers, <paramref name="answerer"/> answers, both as SDP text.</summary>
    public static void Negotiate(PeerConnection offerer, PeerConnection answerer)
    {
        ArgumentNullException.ThrowIfNull(offerer);
        ArgumentNullException.ThrowIfNull(answerer);
        offerer.LocalCandidate += (_, c) => answerer.AddRemoteCandidate(c);
        answerer.LocalCandidate += (_, c) => offerer.AddRemoteCandidate(c);
        var offer = offerer.CreateOffer();
        offerer.SetLocalDescription(offer);
        answerer.SetRemoteDescription(SessionDescription.Parse(offer.ToString(), SdpType.Offer));
        var answer = answerer.CreateAnswer();
        answerer.SetLocalDescription(answer);
        offerer.SetRemoteDescription(SessionDescription.Parse(answer.ToString(), SdpType.Answer));
    }

    /// <summary>
    /// Negotiates two new connections and opens one data channel between them; both ends are Open on return. On
    /// failure or cancellation both connections are closed.
    /// </summary>
    /// <exception cref="PeerConnectionException">The connection failed.</exception>
    public static async Task<InProcessPair> ConnectAsync(PeerConnectionOptions offererOptions, PeerConnectionOptions answererOptions, string label, CancellationToken cancellationToken)
    {
        var offerer = new PeerConnection(offererOptions);
        var answerer = new PeerConnection(answererOptions);
        try
        {
            Negotiate(offerer, answerer);
            var accepted = answerer.AcceptDataChannelAsync(cancellationToken);
            var opened = await offerer.OpenDataChannelAsync(label, cancellationToken).ConfigureAwait(false);
            return new InProcessPair(offerer, answerer, opened, await accepted.ConfigureAwait(false));
        }
        catch
        {
            await offerer.DisposeAsync().ConfigureAwait(false);
            await answerer.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await Offerer.DisposeAsync().ConfigureAwait(false);
        await Answerer.DisposeAsync().ConfigureAwait(false);
    }
}
