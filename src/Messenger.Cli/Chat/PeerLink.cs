using System.Diagnostics;
using System.Net;
using Messenger.Contracts.Channels;
using Messenger.Transport;
using Messenger.Transport.Dtls;
using Messenger.Transport.Ice;
using Messenger.Transport.Sdp;
using Messenger.Transport.Signaling;

namespace Messenger.Cli.Chat;

/// <summary>
/// One real peer connection and its data channel, set up by copy-paste connection codes (<c>offer</c>/<c>answer</c>)
/// or through the signaling relay (<c>connect</c>). The offerer opens the channel; the answerer waits for it.
/// </summary>
internal sealed class PeerLink : IAsyncDisposable
{
    private const string ChannelLabel = "messenger";

    private PeerLink(PeerConnection connection, IDataChannel channel, bool isOfferer, TimeSpan connectTime)
    {
        Connection = connection;
        Channel = channel;
        IsOfferer = isOfferer;
        ConnectTime = connectTime;
    }

    public PeerConnection Connection { get; }

    public IDataChannel Channel { get; }

    public bool IsOfferer { get; }

    public TimeSpan ConnectTime { get; }

    /// <summary>A connection on <paramref name="bind"/> presenting <paramref name="certificate"/> (the profile's identity).</summary>
    public static PeerConnection Create(IPAddress bind, DtlsCertificate certificate) =>
        new(new PeerConnectionOptions { Certificate = certificate, Ice = new IceTransportOptions { BindAddress = bind, IncludeLoopback = IPAddress.IsLoopback(bind) } });

    // Each way to connect first starts the transport's warm-up (TransportWarmUp, once per process): it runs while this
    // side waits for the peer's code or for the relay, so the real setup finds its code compiled and its types loaded.

    /// <summary>Offers: prints our connection code, reads the answer's, connects.</summary>
    public static async Task<PeerLink> OfferAsync(IPAddress bind, DtlsCertificate certificate, Func<string, Task> showCode, Func<CancellationToken, Task<string?>> readCode, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        _ = TransportWarmUp.RunAsync();
        var connection = Create(bind, certificate);
        try
        {
            var offer = connection.CreateOffer();
            connection.SetLocalDescription(offer);
            await showCode(SdpBlob.Encode(offer));
            var code = await readCode(cancellationToken) ?? throw new CliException("No answer code was given (input ended).");
            var answer = DecodeCode(code, SdpType.Answer);
            var clock = Stopwatch.StartNew();
            connection.SetRemoteDescription(answer);
            return await OpenAsync(connection, isOfferer: true, clock, timeout, time, cancellationToken);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Answers: reads the offer's connection code, prints ours, connects.</summary>
    public static async Task<PeerLink> AnswerAsync(IPAddress bind, DtlsCertificate certificate, Func<string, Task> showCode, Func<CancellationToken, Task<string?>> readCode, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        _ = TransportWarmUp.RunAsync();
        var connection = Create(bind, certificate);
        try
        {
            var code = await readCode(cancellationToken) ?? throw new CliException("No offer code was given (input ended).");
            var offer = DecodeCode(code, SdpType.Offer);
            var clock = Stopwatch.StartNew();
            connection.SetRemoteDescription(offer);
            var answer = connection.CreateAnswer();
            connection.SetLocalDescription(answer);
            await showCode(SdpBlob.Encode(answer));
            return await OpenAsync(connection, isOfferer: false, clock, timeout, time, cancellationToken);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Joins the relay's room; the second peer to arrive offers, candidates trickle as lines.</summary>
    /// <param name="joined">Called once the relay has the room joined: from then on this side waits for the other.</param>
    public static async Task<PeerLink> ConnectAsync(IPAddress bind, DtlsCertificate certificate, string relayHost, int relayPort, string room, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken, Action? joined = null)
    {
        _ = TransportWarmUp.RunAsync();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        await using var signaling = await SignalingClient.JoinAsync(relayHost, relayPort, room, cancellationToken);
        joined?.Invoke();
        var connection = Create(bind, certificate);
        var clock = Stopwatch.StartNew();
        try
        {
            connection.LocalCandidate += (_, candidate) => _ = TrickleAsync(signaling, candidate, deadline.Token);
            if (signaling.IsOfferer)
            {
                var offer = connection.CreateOffer();
                connection.SetLocalDescription(offer);
                await signaling.SendDescriptionAsync(offer, cancellationToken);
            }

            // Signaling runs until the channel is open; after that the relay is no longer needed. Waiting for the
            // other peer to turn up has no limit (Ctrl-C ends it); the connect timeout starts once its description is here.
            var remoteSet = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var listening = ListenAsync(signaling, connection, remoteSet, deadline.Token);
            if (await Task.WhenAny(remoteSet.Task, listening) == listening)
            {
                await listening; // throws why signaling ended early
            }

            if (!signaling.IsOfferer)
            {
                clock.Restart(); // the time to connect, not the time the other peer took to turn up
            }

            var link = OpenAsync(connection, signaling.IsOfferer, clock, timeout, time, cancellationToken);
            if (await Task.WhenAny(link, listening) == listening)
            {
                await listening;
            }

            var result = await link;
            await deadline.CancelAsync();
            await IgnoreEndAsync(listening);
            return result;
        }
        catch
        {
            await deadline.CancelAsync();
            await connection.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync() => await Connection.DisposeAsync();

    private static async Task ListenAsync(SignalingClient signaling, PeerConnection connection, TaskCompletionSource remoteSet, CancellationToken cancellationToken)
    {
        while (true)
        {
            var message = await signaling.ReceiveAsync(cancellationToken);
            switch (message)
            {
                case null:
                    throw new SignalingException("the signaling relay closed the connection before the peers connected");
                case SignalingMessage.Description { Value: { Type: SdpType.Offer } offer } when !signaling.IsOfferer:
                    connection.SetRemoteDescription(offer);
                    var ours = connection.CreateAnswer();
                    connection.SetLocalDescription(ours);
                    await signaling.SendDescriptionAsync(ours, cancellationToken);
                    remoteSet.TrySetResult();
                    break;
                case SignalingMessage.Description { Value: { Type: SdpType.Answer } answer } when signaling.IsOfferer:
                    connection.SetRemoteDescription(answer);
                    remoteSet.TrySetResult();
                    break;
                case SignalingMessage.Description:
                    throw new SignalingException("the other peer sent a description out of turn");
                case SignalingMessage.Candidate { Value: var candidate }:
                    connection.AddRemoteCandidate(candidate);
                    break;
                case SignalingMessage.PeerLeft when connection.RemoteDescription is null:
                    throw new SignalingException("the other peer left the room before the peers connected");
                default:
                    break; // peer-joined, a late peer-left (the other side finished first), or a kind we do not know
            }
        }
    }

    private static async Task TrickleAsync(SignalingClient signaling, IceCandidate? candidate, CancellationToken cancellationToken)
    {
        try
        {
            await signaling.SendCandidateAsync(candidate, cancellationToken);
        }
        catch (Exception ex) when (ex is SignalingException or OperationCanceledException or ObjectDisposedException)
        {
            // The candidates in the description suffice on a LAN; a lost trickle line only narrows the choice.
        }
    }

    private static async Task<PeerLink> OpenAsync(PeerConnection connection, bool isOfferer, Stopwatch clock, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        try
        {
            using var expiry = new CancellationTokenSource(timeout, time);
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, expiry.Token);
            var channel = isOfferer
                ? await connection.OpenDataChannelAsync(ChannelLabel, limit.Token)
                : await connection.AcceptDataChannelAsync(limit.Token);
            return new PeerLink(connection, channel, isOfferer, clock.Elapsed);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new PeerLinkException($"No connection to the peer within {timeout.TotalSeconds:0} s (ICE state {connection.IceConnectionState}).");
        }
        catch (PeerConnectionException ex)
        {
            throw new PeerLinkException($"The connection to the peer failed: {ex.Message}", ex);
        }
    }

    private static SessionDescription DecodeCode(string code, SdpType expected)
    {
        SessionDescription description;
        try
        {
            description = SdpBlob.Decode(code);
        }
        catch (SdpBlobException ex)
        {
            throw new CliException(ex.Message);
        }

        return description.Type == expected
            ? description
            : throw new CliException(expected == SdpType.Answer
                ? "That is an offer code; paste the code `messenger answer` printed."
                : "That is an answer code; paste the code `messenger offer` printed.");
    }

    private static async Task IgnoreEndAsync(Task listening)
    {
        try
        {
            await listening;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SignalingException)
        {
            // Connected: how the relay connection ends no longer matters.
        }
    }
}

/// <summary>The peers could not connect (exit code <see cref="ExitCodes.ConnectionFailed"/>).</summary>
internal sealed class PeerLinkException : Exception
{
    public PeerLinkException(string message)
        : base(message)
    {
    }

    public PeerLinkException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
