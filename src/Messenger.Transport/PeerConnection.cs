using System.Net;
using System.Threading.Channels;
using Messenger.Contracts.Channels;
using Messenger.Transport.Connection;
using Messenger.Transport.DataChannels;
using Messenger.Transport.Dtls;
using Messenger.Transport.Ice;
using Messenger.Transport.Sctp;
using Messenger.Transport.Sdp;
using Messenger.Transport.Stun;

namespace Messenger.Transport;

/// <summary>
/// A data-channel-only peer connection in the shape of the W3C RTCPeerConnection: offer/answer (JSEP, RFC 8829),
/// trickled candidates, one UDP socket shared by ICE and DTLS (RFC 7983), DTLS with the SDP fingerprint as the
/// peer's identity (RFC 8842), and SCTP data channels on top (RFC 8831/8832). One loop (<see cref="ConnectionLoop"/>)
/// owns the socket and drives ICE, the DTLS record layer and SCTP; BouncyCastle's handshake runs on a thread of its own.
/// </summary>
public sealed class PeerConnection : IAsyncDisposable
{
    private static readonly TimeSpan ShutdownWait = TimeSpan.FromSeconds(5);

    private readonly PeerConnectionOptions _options;
    private readonly DtlsCertificate _certificate;
    private readonly ConnectionLoop _loop;
    private readonly StunClient _stunClient;
    private readonly List<IceCandidate> _hostCandidates;
    private readonly Lock _gate = new();
    private readonly TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<IDataChannel> _firstRemoteChannel = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<IceCandidate> _pendingRemoteCandidates = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<Action> _userEvents = Channel.CreateUnbounded<Action>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _userEventPump;
    private SessionDescription? _local;
    private SessionDescription? _remote;
    private bool _remoteApplied;
    private bool _pendingEndOfCandidates;
    private bool _dtlsStarted;
    private volatile DataChannelSet? _channels;
    private volatile IceConnectionState _iceState = IceConnectionState.New;
    private volatile string? _iceFailure;
    private Task? _background;
    private int _closing;

    public PeerConnection(PeerConnectionOptions? options = null)
    {
        _options = options ?? new PeerConnectionOptions();
        _certificate = _options.Certificate ?? DtlsCertificate.Generate();
        (LocalUfrag, LocalPwd) = SessionDescription.NewIceCredentials();
        _loop = new ConnectionLoop(_options.Ice, new CoreEvents(this));
        _hostCandidates = HostCandidates.GatherHostCandidates(_loop.LocalEndPoint, _options.Ice.IncludeLoopback);
        _stunClient = new StunClient((datagram, destination) => _loop.SendFromAnyThread(datagram, destination), _options.Ice.StunClient with { TimeProvider = _options.Ice.TimeProvider });
        _connected.Task.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default); // observed via Connected
        _firstRemoteChannel.Task.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default); // observed via AcceptDataChannelAsync
        _userEventPump = Task.Run(PumpUserEventsAsync);
        _ = WatchLoopAsync();
        _loop.Start();
    }

    public PeerConnectionState ConnectionState { get; private set; } = PeerConnectionState.New;

    public IceConnectionState IceConnectionState => _iceState;

    /// <summary>Datagrams sent in UDP GSO sends and the number of those sends (zero where GSO is off or refused).</summary>
    internal (long Datagrams, long Sends) SegmentationCounts => _loop.SegmentationCounts;

    /// <summary>
    /// The SCTP sender's congestion window, retransmission counts and loss events (random / congestive, see
    /// SctpCongestionControl.Veno), read racily, for measurements.
    /// </summary>
    internal (long CongestionWindow, long RetransmittedChunks, long RetransmissionTimeouts, long RandomLossEvents, long CongestionLossEvents) SctpSenderStatistics =>
        _loop.Core.Association is { } a ? (a.CongestionWindow, a.RetransmittedChunks, a.RetransmissionTimeouts, a.RandomLossEvents, a.CongestionLossEvents) : default;

    /// <summary>What made the connection fail, when <see cref="ConnectionState"/> is Failed.</summary>
    public PeerConnectionException? Error { get; private set; }

    /// <summary>Completes when data channels can be created; faults with a <see cref="PeerConnectionException"/>.</summary>
    public Task Connected => _connected.Task;

    public SessionDescription? LocalDescription => _local;

    public SessionDescription? RemoteDescription => _remote;

    /// <summary>
    /// The SHA-256 fingerprint of the certificate the peer proved in the DTLS handshake (whatever hash its SDP
    /// fingerprint used): its stable identity. Null before the handshake.
    /// </summary>
    public DtlsFingerprint? RemoteCertificateFingerprint { get; private set; }

    /// <summary>
    /// Why the SCTP association was aborted, by this side or the peer (say, a message over our a=max-message-size),
    /// or null while it runs or after a graceful close.
    /// </summary>
    public string? AbortReason => _channels?.AbortReason;

    /// <summary>The peer's a=max-message-size, 64 KiB when absent.</summary>
    public int RemoteMaxMessageSize => _remote?.EffectiveMaxMessageSize ?? SessionDescription.ImpliedMaxMessageSize;

    /// <summary>The local UDP endpoint (what host candidates announce).</summary>
    internal IPEndPoint LocalEndPoint => _loop.LocalEndPoint;

    private string LocalUfrag { get; }

    private string LocalPwd { get; }

    /// <summary>A local candidate to trickle to the peer (RFC 8838); null means end-of-candidates.</summary>
    public event EventHandler<IceCandidate?>? LocalCandidate;

    public event EventHandler<PeerConnectionState>? ConnectionStateChanged;

    public event EventHandler<IceConnectionState>? IceConnectionStateChanged;

    /// <summary>A data channel the peer opened.</summary>
    public event EventHandler<IDataChannel>? DataChannel;

    /// <summary>An offer: a=setup:actpass, our credentials, fingerprint and host candidates (JSEP RFC 8829 §5.2).</summary>
    public SessionDescription CreateOffer()
    {
        ThrowIfClosed();
        if (_remote is not null)
        {
            throw new InvalidOperationException("A remote description is set; create an answer instead.");
        }

        return Describe(SdpType.Offer, DtlsSetup.ActPass, mid: "0", sctpPort: SessionDescription.DefaultSctpPort);
    }

    /// <summary>An answer to the remote offer; we take a=setup:active, so we are the DTLS client (RFC 8842 §5.3).</summary>
    public SessionDescription CreateAnswer()
    {
        ThrowIfClosed();
        if (_remote is not { Type: SdpType.Offer } offer)
        {
            throw new InvalidOperationException("Set the remote offer before creating an answer.");
        }

        var setup = offer.Setup == DtlsSetup.Active ? DtlsSetup.Passive : DtlsSetup.Active;
        return Describe(SdpType.Answer, setup, offer.Mid, offer.SctpPort);
    }

    /// <summary>Applies our own description: ICE starts in its role (the offerer controls) and gathers candidates.</summary>
    public void SetLocalDescription(SessionDescription description)
    {
        ArgumentNullException.ThrowIfNull(description);
        ThrowIfClosed();
        if (_local is not null)
        {
            throw new InvalidOperationException("Renegotiation is not supported: the local description is already set.");
        }

        if (description.IceUfrag != LocalUfrag || description.Fingerprint != _certificate.Fingerprint)
        {
            throw new ArgumentException("The description was not created by this connection.", nameof(description));
        }

        if (description.Type == SdpType.Answer && _remote is null)
        {
            throw new InvalidOperationException("Set the remote offer before the local answer.");
        }

        _local = description;
        SetState(PeerConnectionState.Connecting);

        // RFC 8445 §6.1.1: the offerer is controlling.
        var agentOptions = _options.Ice.ConfigureAgent(new IceAgentOptions { Controlling = description.Type == SdpType.Offer, LocalUfrag = LocalUfrag, LocalPwd = LocalPwd });
        var hosts = _hostCandidates.ToArray();
        _loop.Post((core, now) => core.StartIce(agentOptions, hosts, now));
        foreach (var candidate in hosts)
        {
            LocalCandidate?.Invoke(this, candidate);
        }

        if (_options.Ice.StunServer is { } server)
        {
            _ = GatherServerReflexiveAsync(server);
        }
        else
        {
            LocalCandidate?.Invoke(this, null);
        }

        ApplyRemote();
    }

    /// <summary>Applies the peer's description: its credentials, candidates, fingerprint, setup and message size.</summary>
    public void SetRemoteDescription(SessionDescription description)
    {
        ArgumentNullException.ThrowIfNull(description);
        ThrowIfClosed();
        if (_remote is not null)
        {
            throw new InvalidOperationException("Renegotiation is not supported: the remote description is already set.");
        }

        if (description.Type == SdpType.Answer && _local is not { Type: SdpType.Offer })
        {
            throw new InvalidOperationException("A remote answer needs our offer as the local description.");
        }

        if (description.Type == SdpType.Offer && _local is not null)
        {
            throw new InvalidOperationException("A remote offer cannot follow our own offer (no glare handling).");
        }

        if (description.Fingerprint.Algorithm != "sha-256" && description.Fingerprint.Algorithm != "sha-384" && description.Fingerprint.Algorithm != "sha-512")
        {
            throw new ArgumentException("The remote fingerprint's hash is not supported.", nameof(description));
        }

        _remote = description;
        ApplyRemote();
    }

    /// <summary>A trickled remote candidate (RFC 8838); null for end-of-candidates.</summary>
    public void AddRemoteCandidate(IceCandidate? candidate)
    {
        ThrowIfClosed();
        lock (_gate)
        {
            if (!_remoteApplied)
            {
                if (candidate is null)
                {
                    _pendingEndOfCandidates = true;
                }
                else
                {
                    _pendingRemoteCandidates.Add(candidate);
                }

                return;
            }
        }

        if (candidate is null)
        {
            _loop.Post(static (core, now) => core.WithAgent(static (agent, t) => agent.SetRemoteEndOfCandidates(t), now));
        }
        else
        {
            _loop.Post((core, now) => core.WithAgent((agent, t) => agent.AddRemoteCandidate(candidate, t), now));
        }
    }

    /// <summary>
    /// Opens a data channel (RFC 8832) once both descriptions are set; it turns Open after the connection is up
    /// and the peer acknowledged it.
    /// </summary>
    public IDataChannel CreateDataChannel(string label, DataChannelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(label);
        ThrowIfClosed();
        var channels = _channels ?? throw new InvalidOperationException("Set the local and remote descriptions before creating data channels.");
        var channel = channels.Create(label, options ?? new DataChannelOptions());
        _loop.PostOpen(channel);
        return channel;
    }

    /// <summary>
    /// The offerer's half of setting up a chat, once both descriptions are set: opens a data channel named
    /// <paramref name="label"/> at once (its DCEP OPEN leaves the moment SCTP is up) and completes when the peer
    /// acknowledged it (Open). The answerer calls <see cref="AcceptDataChannelAsync"/>. Bound the wait with
    /// <paramref name="cancellationToken"/>.
    /// </summary>
    /// <exception cref="PeerConnectionException">The connection failed or was closed first.</exception>
    /// <exception cref="InvalidOperationException">A description is not set yet.</exception>
    public async Task<IDataChannel> OpenDataChannelAsync(string label, CancellationToken cancellationToken = default)
    {
        var channel = CreateDataChannel(label);
        await Connected.WaitAsync(cancellationToken).ConfigureAwait(false);
        await WaitOpenAsync(channel, cancellationToken).ConfigureAwait(false);
        return channel;
    }

    /// <summary>
    /// The answerer's half: the first data channel the peer opens, once Open (kept from the moment it arrives, so
    /// no handler can miss it). Later channels arrive through <see cref="DataChannel"/> only.
    /// </summary>
    /// <exception cref="PeerConnectionException">The connection failed or was closed first.</exception>
    public async Task<IDataChannel> AcceptDataChannelAsync(CancellationToken cancellationToken = default)
    {
        await Connected.WaitAsync(cancellationToken).ConfigureAwait(false);
        var channel = await _firstRemoteChannel.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        await WaitOpenAsync(channel, cancellationToken).ConfigureAwait(false);
        return channel;
    }

    /// <summary>Closes the channels (SCTP shutdown), DTLS (close_notify) and the socket.</summary>
    public async Task CloseAsync()
    {
        // Not the state: a peer's close_notify makes us Closed, but our socket and timers still need releasing.
        if (Interlocked.Exchange(ref _closing, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        if (_channels is { } channels && !_loop.Done.IsCompleted)
        {
            _loop.Post(static (core, now) => core.Shutdown(now));
            try
            {
                await channels.Closed.WaitAsync(ShutdownWait).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                _loop.Post(static (core, _) => core.Abort("The connection was closed."));
            }
        }

        _loop.Post(static (core, now) =>
        {
            core.SendCloseNotify();
            core.AbandonHandshake();
            core.CloseIce(now);
        });
        await _loop.DisposeAsync().ConfigureAwait(false);
        if (_background is { } background)
        {
            await background.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        _connected.TrySetException(new PeerConnectionException("The connection was closed before it connected."));
        _firstRemoteChannel.TrySetException(new PeerConnectionException("The connection was closed before the peer opened a data channel."));
        SetIceState(IceConnectionState.Closed);
        SetState(PeerConnectionState.Closed);
        _userEvents.Writer.TryComplete();
        await _userEventPump.ConfigureAwait(false);
        _stop.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await CloseAsync().ConfigureAwait(false);
    }

    private SessionDescription Describe(SdpType type, DtlsSetup setup, string mid, int sctpPort) => new()
    {
        Type = type,
        IceUfrag = LocalUfrag,
        IcePwd = LocalPwd,
        Fingerprint = _certificate.Fingerprint,
        Setup = setup,
        Mid = mid,
        SctpPort = sctpPort,
        MaxMessageSize = _options.MaxMessageSize,
        Candidates = _hostCandidates,

        // With no STUN server, host candidates are all there is: say so inline with a=end-of-candidates (RFC 8838, RFC 8840).
        EndOfCandidates = _options.Ice.StunServer is null,
    };

    private void ApplyRemote()
    {
        if (_local is null || _remote is not { } remote)
        {
            return;
        }

        // Both descriptions fix the DTLS role, hence the stream id parity: channels can be created from now on;
        // SCTP queues their DCEP opens until the association is up (RFC 8832 §6).
        var role = DtlsRoleOf(_local, remote);
        // The association refuses (aborts on) a message over what our description promised to accept.
        var association = new SctpAssociation(_options.Sctp with { MaxReceiveMessageSize = _options.MaxMessageSize });
        var channels = new DataChannelSet(association, _loop, role == DtlsRole.Client, remote.EffectiveMaxMessageSize, _options.Sctp.Streams);
        var mtu = _options.Sctp.Mtu;
        _loop.Post((core, _) => core.ConfigureSctp(association, channels, mtu));
        _channels = channels;

        var (ufrag, pwd) = (remote.IceUfrag, remote.IcePwd);
        var candidates = remote.Candidates.ToArray();
        _loop.Post((core, now) => core.WithAgent((agent, t) =>
        {
            agent.SetRemoteCredentials(ufrag, pwd, t);
            foreach (var candidate in candidates)
            {
                agent.AddRemoteCandidate(candidate, t);
            }
        }, now));

        IceCandidate[] pending;
        bool endOfCandidates;
        lock (_gate)
        {
            _remoteApplied = true;
            pending = [.. _pendingRemoteCandidates];
            _pendingRemoteCandidates.Clear();
            endOfCandidates = _pendingEndOfCandidates || remote.EndOfCandidates;
        }

        foreach (var candidate in pending)
        {
            AddRemoteCandidate(candidate);
        }

        if (endOfCandidates)
        {
            AddRemoteCandidate(null);
        }
    }

    private async Task GatherServerReflexiveAsync(IPEndPoint server)
    {
        try
        {
            var mapped = await _stunClient.GetMappedAddressAsync(server, _stop.Token).ConfigureAwait(false);
            var host = _hostCandidates.Find(c => c.EndPoint?.AddressFamily == mapped.AddressFamily);
            if (host is not null && !(host.Address == mapped.Address.ToString() && host.Port == mapped.Port))
            {
                var candidate = new IceCandidate
                {
                    Foundation = HostCandidates.Foundation(IceCandidateType.ServerReflexive, IPAddress.Parse(host.Address)),
                    Priority = IceCandidate.ComputePriority(IceCandidateType.ServerReflexive, 65535),
                    Address = mapped.Address.ToString(),
                    Port = mapped.Port,
                    Type = IceCandidateType.ServerReflexive,
                    RelatedAddress = host.Address,
                    RelatedPort = host.Port,
                };
                _loop.Post((core, now) => core.WithAgent((agent, t) => agent.AddLocalCandidate(candidate, t), now));
                LocalCandidate?.Invoke(this, candidate);
            }
        }
        catch (Exception e) when (e is StunTimeoutException or StunErrorResponseException or OperationCanceledException or ObjectDisposedException)
        {
            // RFC 8445 §5.1.1.2: a STUN server that does not answer only costs the srflx candidate; host ones remain.
        }

        LocalCandidate?.Invoke(this, null);
    }

    // On the loop thread.
    private void OnIceStateChanged(IceConnectionState state)
    {
        SetIceState(state);
        switch (state)
        {
            case IceConnectionState.Connected or IceConnectionState.Completed:
                lock (_gate)
                {
                    if (!_dtlsStarted && !_stop.IsCancellationRequested)
                    {
                        _dtlsStarted = true;

                        // Handshake datagrams are fed from now on (the early ones first) to BouncyCastle's thread,
                        // which answers through the socket directly.
                        var path = new QueuedDatagramTransport((DatagramSender)(datagram => _loop.SendToSelected(datagram)), maxDatagramSize: 1472);
                        _loop.Core.BeginHandshake(path);

                        // Called here, not through Task.Run: it only starts BouncyCastle's thread before its first
                        // await, and a pool hop at this point waited up to 630 ms (measured) whenever the application's
                        // pool was short of threads (test hosts block two of the two a 2-core machine starts with).
                        _background = ConnectDtlsAndSctpAsync(path);
                    }
                }

                if (ConnectionState == PeerConnectionState.Disconnected)
                {
                    SetState(PeerConnectionState.Connected);
                }

                break;
            case IceConnectionState.Disconnected when ConnectionState == PeerConnectionState.Connected:
                SetState(PeerConnectionState.Disconnected);
                break;
            case IceConnectionState.Failed:
                _iceFailure = _loop.Core.Agent?.FailureReason;
                Fail(new PeerConnectionException($"ICE failed: {_iceFailure ?? "no path to the peer"}"));
                break;
            default:
                break;
        }
    }

    private async Task ConnectDtlsAndSctpAsync(QueuedDatagramTransport path)
    {
        var remote = _remote!;
        var role = DtlsRoleOf(_local!, remote);
        var channels = _channels!;
        try
        {
            var handshake = await DtlsHandshake.RunAsync(path, new DtlsConnectionOptions
            {
                Role = role,
                Certificate = _certificate,
                RemoteFingerprint = remote.Fingerprint,
                HandshakeTimeout = _options.DtlsHandshakeTimeout,
            }, _stop.Token).ConfigureAwait(false);
            RemoteCertificateFingerprint = handshake.RemoteCertificateSha256;
            _loop.Post((core, now) => core.CompleteHandshake(handshake, now));
            await channels.Connected.WaitAsync(_options.DtlsHandshakeTimeout, _options.Ice.TimeProvider, _stop.Token).ConfigureAwait(false);
            SetState(PeerConnectionState.Connected);
            _connected.TrySetResult();
            await foreach (var channel in channels.RemoteChannels.ReadAllAsync(_stop.Token).ConfigureAwait(false))
            {
                _firstRemoteChannel.TrySetResult(channel);
                RaiseUserEvent(() => DataChannel?.Invoke(this, channel));
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Closed by us.
        }
        catch (DataChannelClosedException)
        {
            // The SCTP association ended before it was up; the DTLS or ICE path says why.
        }
        catch (DtlsFingerprintMismatchException e)
        {
            Fail(new PeerConnectionException(
                $"DTLS failed: the peer's certificate ({e.Actual?.ToString() ?? "none"}) does not match the fingerprint in its SDP ({e.Expected}); possible man-in-the-middle.", e));
        }
        catch (DtlsException e)
        {
            Fail(new PeerConnectionException($"DTLS failed: {e.Message}", e));
        }
        catch (TimeoutException e)
        {
            Fail(new PeerConnectionException($"The SCTP association did not come up within {_options.DtlsHandshakeTimeout.TotalSeconds:0.#} s after DTLS.", e));
        }
    }

    // RFC 8842 §5.3: a=setup:active is the DTLS client; our offer's actpass makes us the server of an active answer.
    private static DtlsRole DtlsRoleOf(SessionDescription local, SessionDescription remote) => local.Type == SdpType.Answer
        ? (local.Setup == DtlsSetup.Active ? DtlsRole.Client : DtlsRole.Server)
        : (remote.Setup == DtlsSetup.Active ? DtlsRole.Server : DtlsRole.Client);

    // On the loop thread.
    private void OnDtlsClosed(DtlsException? error)
    {
        if (error is not null)
        {
            Fail(new PeerConnectionException($"The DTLS connection failed: {error.Message}", error));
        }
        else if (!_stop.IsCancellationRequested)
        {
            // close_notify from the peer (RFC 5246 §7.2.1): the peer has closed the connection.
            _loop.Core.Abort("The peer closed the connection.");
            SetState(PeerConnectionState.Closed);
        }
    }

    private async Task WatchLoopAsync()
    {
        try
        {
            await _loop.Done.ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Fail(new PeerConnectionException($"The connection's loop failed: {e.GetType().Name}: {e.Message}", e));
            _channels?.OnAssociationEnded("The connection's loop failed.");
        }
    }

    private void Fail(PeerConnectionException error)
    {
        lock (_gate)
        {
            if (ConnectionState is PeerConnectionState.Failed or PeerConnectionState.Closed)
            {
                return;
            }

            Error = error;
        }

        // The path or the security layer is gone: close the channels now so readers end and senders get an error
        // instead of waiting on retransmissions that cannot arrive (before the state event: a throwing handler
        // must not leave them open).
        _loop.Post(static (core, _) =>
        {
            core.AbandonHandshake();
            core.Abort("The connection was aborted.");
        });
        _connected.TrySetException(error);
        _firstRemoteChannel.TrySetException(error);
        SetState(PeerConnectionState.Failed);
    }

    /// <summary>Completes once <paramref name="channel"/> is Open; a <see cref="PeerConnectionException"/> if it closes first.</summary>
    internal static async Task WaitOpenAsync(IDataChannel channel, CancellationToken cancellationToken)
    {
        var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        channel.StateChanged += (_, state) =>
        {
            if (state == DataChannelState.Open)
            {
                open.TrySetResult();
            }
            else if (state == DataChannelState.Closed)
            {
                open.TrySetException(new PeerConnectionException($"The data channel '{channel.Label}' closed before it opened."));
            }
        };
        if (channel.State == DataChannelState.Open)
        {
            return;
        }

        if (channel.State == DataChannelState.Closed)
        {
            throw new PeerConnectionException($"The data channel '{channel.Label}' closed before it opened.");
        }

        await open.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private void SetIceState(IceConnectionState state)
    {
        if (_iceState == state)
        {
            return;
        }

        _iceState = state;
        RaiseUserEvent(() => IceConnectionStateChanged?.Invoke(this, state));
    }

    private void SetState(PeerConnectionState state)
    {
        lock (_gate)
        {
            if (ConnectionState == state || ConnectionState is PeerConnectionState.Closed || (ConnectionState == PeerConnectionState.Failed && state != PeerConnectionState.Closed))
            {
                return;
            }

            ConnectionState = state;
        }

        RaiseUserEvent(() => ConnectionStateChanged?.Invoke(this, state));
    }

    // The application's handlers run in order on a task of their own, never on the loop thread: a slow or throwing
    // handler must not hold up (or end) the connection.
    private void RaiseUserEvent(Action raise) => _userEvents.Writer.TryWrite(raise);

    private async Task PumpUserEventsAsync()
    {
        await foreach (var raise in _userEvents.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                raise();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // The application's handler failed; the connection goes on and the next handler still runs.
                System.Diagnostics.Trace.TraceError($"A PeerConnection event handler threw: {e}");
            }
        }
    }

    private void ThrowIfClosed() => ObjectDisposedException.ThrowIf(ConnectionState == PeerConnectionState.Closed, this);

    private sealed class CoreEvents(PeerConnection owner) : IConnectionEvents
    {
        public void OnIceStateChanged(IceConnectionState state) => owner.OnIceStateChanged(state);

        public void OnDtlsClosed(DtlsException? error) => owner.OnDtlsClosed(error);

        public void OnStunResponse(StunMessage message) => owner._stunClient.HandleResponse(message);
    }
}
