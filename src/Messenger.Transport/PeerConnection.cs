using Messenger.Contracts.Channels;
using Messenger.Transport.DataChannels;
using Messenger.Transport.Dtls;
using Messenger.Transport.Ice;
using Messenger.Transport.Sdp;

namespace Messenger.Transport;

/// <summary>
/// A data-channel-only peer connection in the shape of the W3C RTCPeerConnection: offer/answer (JSEP, RFC 8829),
/// trickled candidates, one UDP socket shared by ICE and DTLS (RFC 7983), DTLS with the SDP fingerprint as the
/// peer's identity (RFC 8842), and SCTP data channels on top (RFC 8831/8832).
/// </summary>
public sealed class PeerConnection : IAsyncDisposable
{
    private readonly PeerConnectionOptions _options;
    private readonly DtlsCertificate _certificate;
    private readonly IceTransport _ice;
    private readonly QueuedDatagramTransport _dtlsPath;
    private readonly Lock _gate = new();
    private readonly TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<IceCandidate> _pendingRemoteCandidates = [];
    private readonly CancellationTokenSource _stop = new();
    private SessionDescription? _local;
    private SessionDescription? _remote;
    private bool _remoteApplied;
    private bool _pendingEndOfCandidates;
    private bool _dtlsStarted;
    private volatile DtlsConnection? _dtls;
    private volatile DataChannelConnection? _channels;
    private Task? _background;
    private int _closing;

    public PeerConnection(PeerConnectionOptions? options = null)
    {
        _options = options ?? new PeerConnectionOptions();
        _certificate = _options.Certificate ?? DtlsCertificate.Generate();
        var (ufrag, pwd) = SessionDescription.NewIceCredentials();
        _ice = new IceTransport(ufrag, pwd, _options.Ice);

        // Large enough for any datagram on the socket: the DTLS layer decides what fits a record.
        _dtlsPath = new QueuedDatagramTransport((DatagramSender)(datagram => _ice.Send(datagram)), maxDatagramSize: 1472);
        _ice.DataReceived += datagram => _dtlsPath.Deliver(datagram);
        _ice.LocalCandidate += candidate => LocalCandidate?.Invoke(this, candidate);
        _ice.StateChanged += OnIceStateChanged;
        _connected.Task.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default); // observed via Connected
    }

    public PeerConnectionState ConnectionState { get; private set; } = PeerConnectionState.New;

    public IceConnectionState IceConnectionState => _ice.State;

    /// <summary>Datagrams sent in UDP GSO sends and the number of those sends (zero where GSO is off or refused).</summary>
    internal (long Datagrams, long Sends) SegmentationCounts => _ice.SegmentationCounts;

    /// <summary>The SCTP sender's congestion window and retransmission counts, for measurements.</summary>
    internal (long CongestionWindow, long RetransmittedChunks, long RetransmissionTimeouts) SctpSenderStatistics =>
        _channels?.SenderStatistics ?? default;

    /// <summary>What made the connection fail, when <see cref="ConnectionState"/> is Failed.</summary>
    public PeerConnectionException? Error { get; private set; }

    /// <summary>Completes when data channels can be created; faults with a <see cref="PeerConnectionException"/>.</summary>
    public Task Connected => _connected.Task;

    public SessionDescription? LocalDescription => _local;

    public SessionDescription? RemoteDescription => _remote;

    /// <summary>The peer's a=max-message-size, 64 KiB when absent.</summary>
    public int RemoteMaxMessageSize => _remote?.EffectiveMaxMessageSize ?? SessionDescription.ImpliedMaxMessageSize;

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

        if (description.IceUfrag != _ice.LocalUfrag || description.Fingerprint != _certificate.Fingerprint)
        {
            throw new ArgumentException("The description was not created by this connection.", nameof(description));
        }

        if (description.Type == SdpType.Answer && _remote is null)
        {
            throw new InvalidOperationException("Set the remote offer before the local answer.");
        }

        _local = description;
        SetState(PeerConnectionState.Connecting);
        _ice.Start(controlling: description.Type == SdpType.Offer); // RFC 8445 §6.1.1: the offerer is controlling
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
            _ice.SetRemoteEndOfCandidates();
        }
        else
        {
            _ice.AddRemoteCandidate(candidate);
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
        return channels.CreateChannel(label, options);
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
        if (_channels is { } channels)
        {
            await channels.DisposeAsync().ConfigureAwait(false);
        }

        _dtls?.Dispose();
        _dtlsPath.Dispose();
        await _ice.DisposeAsync().ConfigureAwait(false);
        if (_background is { } background)
        {
            await background.ConfigureAwait(false);
        }

        _connected.TrySetException(new PeerConnectionException("The connection was closed before it connected."));
        SetState(PeerConnectionState.Closed);
        _stop.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await CloseAsync().ConfigureAwait(false);
    }

    private SessionDescription Describe(SdpType type, DtlsSetup setup, string mid, int sctpPort) => new()
    {
        Type = type,
        IceUfrag = _ice.LocalUfrag,
        IcePwd = _ice.LocalPwd,
        Fingerprint = _certificate.Fingerprint,
        Setup = setup,
        Mid = mid,
        SctpPort = sctpPort,
        MaxMessageSize = _options.MaxMessageSize,
        Candidates = _ice.HostCandidates,

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
        _channels = new DataChannelConnection(
            new DataChannelConnectionOptions
            {
                Sctp = _options.Sctp,
                IsDtlsClient = role == DtlsRole.Client,
                RemoteMaxMessageSize = remote.EffectiveMaxMessageSize,
                TimeProvider = _options.Ice.TimeProvider,

                // One loop turn's packets leave in as few sends as the kernel allows (UDP GSO where available).
                BeginSendBatch = _ice.BeginBatch,
                EndSendBatch = _ice.FlushBatch,
            },
            packet => SendSctp(_dtls, packet));

        _ice.SetRemoteCredentials(remote.IceUfrag, remote.IcePwd);
        foreach (var candidate in remote.Candidates)
        {
            _ice.AddRemoteCandidate(candidate);
        }

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
            _ice.AddRemoteCandidate(candidate);
        }

        if (endOfCandidates)
        {
            _ice.SetRemoteEndOfCandidates();
        }
    }

    private void OnIceStateChanged(IceConnectionState state)
    {
        IceConnectionStateChanged?.Invoke(this, state);
        switch (state)
        {
            case IceConnectionState.Connected or IceConnectionState.Completed:
                lock (_gate)
                {
                    if (!_dtlsStarted && !_stop.IsCancellationRequested)
                    {
                        _dtlsStarted = true;
                        _background = Task.Run(ConnectDtlsAndSctpAsync);
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
                Fail(new PeerConnectionException($"ICE failed: {_ice.FailureReason ?? "no path to the peer"}"));
                break;
            default:
                break;
        }
    }

    private async Task ConnectDtlsAndSctpAsync()
    {
        var remote = _remote!;
        var role = DtlsRoleOf(_local!, remote);
        var channels = _channels!;
        try
        {
            var dtls = await DtlsConnection.HandshakeAsync(_dtlsPath, new DtlsConnectionOptions
            {
                Role = role,
                Certificate = _certificate,
                RemoteFingerprint = remote.Fingerprint,
                HandshakeTimeout = _options.DtlsHandshakeTimeout,
            }, _stop.Token).ConfigureAwait(false);
            _dtls = dtls;
            dtls.StartReceiving(channels.ReceivePacket);
            channels.Start();
            await channels.Connected.WaitAsync(_options.DtlsHandshakeTimeout, _options.Ice.TimeProvider, _stop.Token).ConfigureAwait(false);
            SetState(PeerConnectionState.Connected);
            _connected.TrySetResult();
            _ = WatchDtlsAsync(dtls);
            while (!_stop.IsCancellationRequested)
            {
                var channel = await channels.AcceptChannelAsync(_stop.Token).ConfigureAwait(false);
                DataChannel?.Invoke(this, channel);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Closed by us.
        }
        catch (System.Threading.Channels.ChannelClosedException)
        {
            // The SCTP association ended; WatchDtlsAsync reports why.
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

    private static void SendSctp(DtlsConnection? dtls, ReadOnlySpan<byte> packet)
    {
        if (dtls is null)
        {
            return; // SCTP only starts once DTLS is up; nothing is lost here
        }

        try
        {
            dtls.Send(packet);
        }
        catch (Exception e) when (e is DtlsException or ObjectDisposedException)
        {
            // The DTLS connection is going away; its Closed task carries the reason, SCTP sees loss.
        }
    }

    private async Task WatchDtlsAsync(DtlsConnection dtls)
    {
        try
        {
            await dtls.Closed.ConfigureAwait(false);
            if (!_stop.IsCancellationRequested)
            {
                // close_notify from the peer (RFC 5246 §7.2.1): the peer has closed the connection.
                SetState(PeerConnectionState.Closed);
            }
        }
        catch (DtlsException e)
        {
            Fail(new PeerConnectionException($"The DTLS connection failed: {e.Message}", e));
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
        _channels?.Abort();
        _connected.TrySetException(error);
        SetState(PeerConnectionState.Failed);
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

        ConnectionStateChanged?.Invoke(this, state);
    }

    private void ThrowIfClosed() => ObjectDisposedException.ThrowIf(ConnectionState == PeerConnectionState.Closed, this);
}
