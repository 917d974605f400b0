using Messenger.Transport.Sdp;

namespace Messenger.Transport;

/// <summary>Two connections of one process negotiated with each other directly (no signaling): warm-up and benchmarks.</summary>
internal static class InProcessPair
{
    /// <summary>Candidates trickle across; <paramref name="offerer"/> offers, <paramref name="answerer"/> answers, both as SDP text.</summary>
    public static void Negotiate(PeerConnection offerer, PeerConnection answerer)
    {
        offerer.LocalCandidate += (_, c) => answerer.AddRemoteCandidate(c);
        answerer.LocalCandidate += (_, c) => offerer.AddRemoteCandidate(c);
        var offer = offerer.CreateOffer();
        offerer.SetLocalDescription(offer);
        answerer.SetRemoteDescription(SessionDescription.Parse(offer.ToString(), SdpType.Offer));
        var answer = answerer.CreateAnswer();
        answerer.SetLocalDescription(answer);
        offerer.SetRemoteDescription(SessionDescription.Parse(answer.ToString(), SdpType.Answer));
    }
}
