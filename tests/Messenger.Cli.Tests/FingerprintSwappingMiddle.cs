using System.Net;
using System.Text;
using Messenger.Contracts.Channels;
using Messenger.Transport;
using Messenger.Transport.Ice;
using Messenger.Transport.Sdp;

namespace Messenger.Cli.Tests;

/// <summary>
/// Someone in the middle of a copy-paste pairing (or a relay that rewrites descriptions): it answers the offerer with
/// its own certificate, offers the answerer its own other certificate, and forwards every data-channel message both
/// ways, keeping a copy of what passed. Without a pairing code the two peers cannot tell.
/// </summary>
internal sealed class FingerprintSwappingMiddle : IAsyncDisposable
{
    private readonly PeerConnection _towardOfferer = Create();
    private readonly PeerConnection _towardAnswerer = Create();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<byte[]> _seen = [];
    private Task? _pumping;

    /// <summary>Everything that crossed, both ways, as text (UTF-8, lossy).</summary>
    public string Seen
    {
        get
        {
            lock (_seen)
            {
                return string.Concat(_seen.Select(b => Encoding.UTF8.GetString(b)));
            }
        }
    }

    /// <summary>Takes the offerer's code; returns the code to hand the answerer in its place.</summary>
    public string InterceptOffer(string offerCode) => SdpBlob.Encode(InterceptOffer(SdpBlob.Decode(offerCode)));

    /// <summary>Takes the answerer's code; returns the code to hand the offerer in its place, and starts forwarding.</summary>
    public string InterceptAnswer(string answerCode) => SdpBlob.Encode(InterceptAnswer(SdpBlob.Decode(answerCode)));

    /// <summary>Takes the offerer's description; returns the one to hand the answerer (the middle's own certificate).</summary>
    public SessionDescription InterceptOffer(SessionDescription offer)
    {
        _towardOfferer.SetRemoteDescription(offer);
        var ours = _towardAnswerer.CreateOffer();
        _towardAnswerer.SetLocalDescription(ours);
        return ours;
    }

    /// <summary>Takes the answerer's description; returns the one to hand the offerer, and starts forwarding.</summary>
    public SessionDescription InterceptAnswer(SessionDescription answer)
    {
        _towardAnswerer.SetRemoteDescription(answer);
        var ours = _towardOfferer.CreateAnswer();
        _towardOfferer.SetLocalDescription(ours);
        _pumping = PumpAsync();
        return ours;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_pumping is not null)
        {
            try
            {
                await _pumping;
            }
            catch (Exception ex) when (ex is OperationCanceledException or PeerConnectionException or DataChannelClosedException)
            {
                // The peers went away: nothing more to forward.
            }
        }

        await _towardOfferer.DisposeAsync();
        await _towardAnswerer.DisposeAsync();
        _stop.Dispose();
    }

    private static PeerConnection Create() =>
        new(new PeerConnectionOptions { Ice = new IceTransportOptions { BindAddress = IPAddress.Loopback, IncludeLoopback = true } });

    private async Task PumpAsync()
    {
        // The answerer's side opens as the real offerer would; each side's messages wait until the other is open.
        var toOfferer = await _towardOfferer.AcceptDataChannelAsync(_stop.Token);
        var toAnswerer = await _towardAnswerer.OpenDataChannelAsync("messenger", _stop.Token);
        await Task.WhenAll(ForwardAsync(toOfferer, toAnswerer), ForwardAsync(toAnswerer, toOfferer));
    }

    private async Task ForwardAsync(IDataChannel from, IDataChannel to)
    {
        await foreach (var message in from.ReceiveAllAsync(_stop.Token))
        {
            var data = message.Data.ToArray();
            var isText = message.IsText;
            message.Release();
            lock (_seen)
            {
                _seen.Add(data);
            }

            if (to.State != DataChannelState.Open)
            {
                return;
            }

            if (isText)
            {
                to.SendText(Encoding.UTF8.GetString(data));
            }
            else
            {
                to.Send(data);
            }
        }
    }
}
