using System.Buffers.Binary;
using System.Security.Cryptography;
using Messenger.Transport.Sctp.Chunks;

namespace Messenger.Transport.Sctp;

/// <summary>
/// One SCTP association (RFC 9260) as a pure state machine: it is fed packets, user calls and the current time, and
/// hands back packets to send (<see cref="PollPacket"/>), events (<see cref="TryPollEvent"/>) and the next timer
/// deadline (<see cref="NextDeadline"/>). It owns no socket, no clock and no thread; one caller drives it.
/// </summary>
public sealed partial class SctpAssociation
{
    private static readonly TimeSpan Never = TimeSpan.MaxValue;

    private readonly SctpAssociationOptions _options;
    private readonly Random? _random;
    private readonly byte[] _cookieSecret = new byte[32];
    private readonly Queue<SctpEvent> _events = new();
    private readonly Queue<(uint Tag, Chunk Chunk)> _control = new();
    private readonly int _mtu;

    private uint _localTag;
    private uint _peerTag;
    private uint _localInitialTsn;
    private bool _peerSupportsForwardTsn;
    private bool _peerSupportsReConfig;
    private InitChunk? _sentInit;
    private byte[]? _cookieToEcho;
    private int _t1Retransmits;

    private TimeSpan _t1 = Never;
    private TimeSpan _t2 = Never;
    private TimeSpan _t3 = Never;
    private TimeSpan _delayedAck = Never;
    private TimeSpan _heartbeatTimer = Never;
    private TimeSpan _reconfigTimer = Never;

    private TimeSpan _rto;
    private TimeSpan _srtt;
    private TimeSpan _rttVar;
    private bool _rttMeasured;
    private int _errorCount;
    private bool _closedForGood;
    private ulong _heartbeatNonce;
    private bool _heartbeatDue;
    private TimeSpan _lastDataSent;

    public SctpAssociation(SctpAssociationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Mtu < 256 || options.Mtu > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Mtu, "The MTU must be between 256 and 65535 bytes.");
        }

        _options = options;
        _mtu = options.Mtu;
        if (options.RandomSeed is { } seed)
        {
            _random = new Random(seed);
            _random.NextBytes(_cookieSecret);
        }
        else
        {
            RandomNumberGenerator.Fill(_cookieSecret);
        }

        _rto = options.RtoInitial;
        _localTag = NewTag();
        _localInitialTsn = options.InitialTsn ?? NewTag();
        _reassembly = new ReassemblyQueue(OnMessageReassembled, _options.MaxReceiveMessageSize);
        ResetSendState();
    }

    public SctpAssociationState State { get; private set; } = SctpAssociationState.Closed;

    /// <summary>The earliest time <see cref="HandleTimeout"/> must be called; <see cref="TimeSpan.MaxValue"/> if none.</summary>
    public TimeSpan NextDeadline
    {
        get
        {
            var d = _t1 < _t2 ? _t1 : _t2;
            d = d < _t3 ? d : _t3;
            d = d < _delayedAck ? d : _delayedAck;
            d = d < _heartbeatTimer ? d : _heartbeatTimer;
            return d < _reconfigTimer ? d : _reconfigTimer;
        }
    }

    /// <summary>Packets dropped for a bad checksum, bad lengths or a wrong verification tag.</summary>
    public long DroppedPackets { get; private set; }

    public TimeSpan Rto => _rto;

    internal uint LocalTag => _localTag;

    internal uint PeerTag => _peerTag;

    /// <summary>The next in-sequence TSN this side expects from the peer.</summary>
    internal uint ExpectedTsn => (_tsnTracker?.CumulativeTsn ?? 0) + 1;

    public bool TryPollEvent(out SctpEvent sctpEvent) => _events.TryDequeue(out sctpEvent);

    /// <summary>Starts the four-way handshake by sending INIT (RFC 9260 §5.1 A).</summary>
    public void Connect(TimeSpan now)
    {
        if (State != SctpAssociationState.Closed || _peerTag != 0 || _closedForGood)
        {
            throw new InvalidOperationException($"Connect needs a fresh association; this one is {State}.");
        }

        State = SctpAssociationState.CookieWait;
        _sentInit = BuildInit(isAck: false, _localTag, _localInitialTsn, cookie: null);
        _control.Enqueue((0, _sentInit));
        _t1Retransmits = 0;
        _t1 = now + _rto;
    }

    /// <summary>Starts a graceful shutdown (RFC 9260 §9.2): queued data is delivered first.</summary>
    public void Shutdown(TimeSpan now)
    {
        switch (State)
        {
            case SctpAssociationState.Established:
                State = SctpAssociationState.ShutdownPending;
                CheckShutdownProgress(now);
                break;
            case SctpAssociationState.CookieWait or SctpAssociationState.CookieEchoed:
                Abort("Shut down before the association was established.");
                break;
            default:
                break;
        }
    }

    /// <summary>Ends the association at once with an ABORT (RFC 9260 §9.1).</summary>
    public void Abort(string reason)
    {
        if (State == SctpAssociationState.Closed)
        {
            return;
        }

        if (_peerTag != 0)
        {
            _control.Enqueue((_peerTag, CauseListChunk.Abort(CauseListChunk.UserInitiatedAbort, reason)));
        }

        EnterClosed(SctpEventKind.Aborted, reason);
    }

    /// <summary>Processes timers whose deadline is at or before <paramref name="now"/>.</summary>
    public void HandleTimeout(TimeSpan now)
    {
        if (_t1 <= now)
        {
            OnT1Expired(now);
        }

        if (_t2 <= now)
        {
            OnT2Expired(now);
        }

        if (_t3 <= now)
        {
            OnT3Expired(now);
        }

        if (_delayedAck <= now)
        {
            _delayedAck = Never;
            _sackImmediate = true;
        }

        if (_heartbeatTimer <= now)
        {
            OnHeartbeatTimer(now);
        }

        if (_reconfigTimer <= now)
        {
            _reconfigTimer = Never;
            if (_pendingResetRequest is not null)
            {
                _reconfigRequestDue = true;
                CountError("The peer did not answer a stream reset.");
            }
        }
    }

    /// <summary>Processes one received SCTP packet; malformed or misaddressed packets are counted and dropped.</summary>
    public void HandlePacket(ReadOnlySpan<byte> packet, TimeSpan now)
    {
        try
        {
            SctpPacket.Validate(packet);
            ProcessPacket(packet, now);
        }
        catch (SctpParseException)
        {
            // RFC 9260 §6.8/§11: a malformed packet is discarded; what was processed before the fault stands.
            DroppedPackets++;
        }

        AfterReceive(now);
    }

    private void ProcessPacket(ReadOnlySpan<byte> packet, TimeSpan now)
    {
        var sourcePort = BinaryPrimitives.ReadUInt16BigEndian(packet);
        var destinationPort = BinaryPrimitives.ReadUInt16BigEndian(packet[2..]);
        var tag = BinaryPrimitives.ReadUInt32BigEndian(packet[4..]);
        if (sourcePort != _options.RemotePort || destinationPort != _options.LocalPort)
        {
            DroppedPackets++;
            return;
        }

        var body = packet[SctpPacket.CommonHeaderLength..];
        if (IsOutOfTheBlue(body))
        {
            AnswerOutOfTheBlue(body, tag);
            DroppedPackets++;
            return;
        }

        if (!CheckVerificationTag(body, tag))
        {
            DroppedPackets++;
            return;
        }

        var reader = new ChunkReader(body);
        List<SctpParameter>? unrecognized = null;
        while (reader.TryRead(out var type, out var flags, out var value))
        {
            switch ((ChunkType)type)
            {
                case ChunkType.Data:
                    OnData(flags, value);
                    break;
                case ChunkType.Sack:
                    OnSack(value, now);
                    break;
                case ChunkType.Init:
                    OnInit(InitChunk.Parse(isAck: false, value), now);
                    return;
                case ChunkType.InitAck:
                    OnInitAck(InitChunk.Parse(isAck: true, value), now);
                    break;
                case ChunkType.CookieEcho:
                    OnCookieEcho(value, tag, now);
                    break;
                case ChunkType.CookieAck:
                    OnCookieAck(now);
                    break;
                case ChunkType.Heartbeat:
                    OnHeartbeat(HeartbeatChunk.Parse(isAck: false, value));
                    break;
                case ChunkType.HeartbeatAck:
                    OnHeartbeatAck(HeartbeatChunk.Parse(isAck: true, value), now);
                    break;
                case ChunkType.Abort:
                    OnAbort(CauseListChunk.Parse(ChunkType.Abort, flags, value));
                    return;
                case ChunkType.Error:
                    OnError(CauseListChunk.Parse(ChunkType.Error, flags, value), now);
                    break;
                case ChunkType.Shutdown:
                    OnShutdown(ShutdownChunk.Parse(value), now);
                    break;
                case ChunkType.ShutdownAck:
                    OnShutdownAck();
                    break;
                case ChunkType.ShutdownComplete:
                    OnShutdownComplete();
                    break;
                case ChunkType.ForwardTsn:
                    OnForwardTsn(ForwardTsnChunk.Parse(value));
                    break;
                case ChunkType.ReConfig:
                    OnReConfig(ReConfigChunk.Parse(value), now);
                    break;
                default:
                    // RFC 9260 §3.2: the two high bits of an unknown type say whether to skip it and whether to report it.
                    if ((type & 0x40) != 0)
                    {
                        var raw = new byte[4 + value.Length];
                        raw[0] = type;
                        raw[1] = flags;
                        BinaryPrimitives.WriteUInt16BigEndian(raw.AsSpan(2), (ushort)raw.Length);
                        value.CopyTo(raw.AsSpan(4));
                        (unrecognized ??= []).Add(new SctpParameter(CauseListChunk.UnrecognizedChunkType, raw));
                    }

                    if ((type & 0x80) == 0)
                    {
                        ReportUnrecognized(unrecognized);
                        return;
                    }

                    break;
            }
        }

        ReportUnrecognized(unrecognized);
    }

    private void ReportUnrecognized(List<SctpParameter>? causes)
    {
        if (causes is not null && _peerTag != 0 && State != SctpAssociationState.Closed)
        {
            _control.Enqueue((_peerTag, new CauseListChunk(ChunkType.Error, 0, causes)));
        }
    }

    // RFC 9260 §8.4: with no association (never connected, or closed), only INIT and COOKIE-ECHO can start one; and
    // RFC 9260 §8.5.1 E: a SHUTDOWN-ACK during our handshake is treated as out of the blue too.
    private bool IsOutOfTheBlue(ReadOnlySpan<byte> body)
    {
        var reader = new ChunkReader(body);
        if (!reader.TryRead(out var type, out _, out _))
        {
            return false;
        }

        return (ChunkType)type switch
        {
            ChunkType.Init or ChunkType.CookieEcho => false,
            ChunkType.ShutdownAck when State is SctpAssociationState.CookieWait or SctpAssociationState.CookieEchoed => true,
            _ => State == SctpAssociationState.Closed,
        };
    }

    private void AnswerOutOfTheBlue(ReadOnlySpan<byte> body, uint tag)
    {
        var shutdownAck = false;
        var reader = new ChunkReader(body);
        while (reader.TryRead(out var type, out _, out var value))
        {
            switch ((ChunkType)type)
            {
                case ChunkType.Abort or ChunkType.ShutdownComplete or ChunkType.CookieAck:
                    // RFC 9260 §8.4 (2), (6), (7): never answer these, so two endpoints cannot ping-pong ABORTs.
                    return;
                case ChunkType.Error when CauseListChunk.Parse(ChunkType.Error, 0, value).Causes.Exists(c => c.Type == CauseListChunk.StaleCookie):
                    return;
                case ChunkType.ShutdownAck:
                    shutdownAck = true;
                    break;
                default:
                    break;
            }
        }

        // RFC 9260 §8.4 (5) and (8): reflect the packet's own tag and set the T bit.
        _control.Enqueue(shutdownAck
            ? (tag, new EmptyChunk(ChunkType.ShutdownComplete, CauseListChunk.TagReflectedFlag))
            : (tag, new CauseListChunk(ChunkType.Abort, CauseListChunk.TagReflectedFlag, [])));
    }

    // RFC 9260 §8.5: which tag a packet must carry depends on its first chunk.
    private bool CheckVerificationTag(ReadOnlySpan<byte> body, uint tag)
    {
        var reader = new ChunkReader(body);
        if (!reader.TryRead(out var type, out var flags, out _))
        {
            return false;
        }

        switch ((ChunkType)type)
        {
            case ChunkType.Init:
                // RFC 9260 §8.5.1 A: INIT carries tag zero and must be alone in its packet.
                return tag == 0 && !reader.TryRead(out _, out _, out _);
            case ChunkType.CookieEcho:
                return true; // Checked against the cookie's own tag.
            case ChunkType.Abort or ChunkType.ShutdownComplete when (flags & CauseListChunk.TagReflectedFlag) != 0:
                return _peerTag != 0 && tag == _peerTag;
            case ChunkType.Abort or ChunkType.ShutdownComplete or ChunkType.ShutdownAck:
                return tag == _localTag;
            default:
                return tag == _localTag && State != SctpAssociationState.Closed;
        }
    }

    private void OnInit(InitChunk init, TimeSpan now)
    {
        // RFC 9260 §3.3.2: a zero initiate tag or zero streams is a protocol error; discard.
        if (init.InitiateTag == 0 || init.OutboundStreams == 0 || init.InboundStreams == 0)
        {
            return;
        }

        uint tag;
        uint initialTsn;
        uint localTieTag = 0;
        uint peerTieTag = 0;
        switch (State)
        {
            case SctpAssociationState.Closed when !_closedForGood:
            case SctpAssociationState.CookieWait:
                // RFC 9260 §5.2.1: an INIT during our own handshake is answered with our existing tag and TSN.
                tag = _localTag;
                initialTsn = _localInitialTsn;
                break;
            case SctpAssociationState.CookieEchoed:
                // RFC 9260 §5.2.1: same tag and TSN, and in COOKIE-ECHOED the tie-tags carry our current tags.
                tag = _localTag;
                initialTsn = _localInitialTsn;
                localTieTag = _localTag;
                peerTieTag = _peerTag;
                break;
            case SctpAssociationState.ShutdownAckSent:
                // RFC 9260 §9.2: our SHUTDOWN-COMPLETE may have been lost; discard the INIT and repeat the SHUTDOWN-ACK.
                _control.Enqueue((_peerTag, new EmptyChunk(ChunkType.ShutdownAck)));
                return;
            case SctpAssociationState.Closed:
                // RFC 9260 §8.4 (3): this association is over and cannot take the INIT; ABORT with its Initiate Tag, T bit clear.
                _control.Enqueue((init.InitiateTag, CauseListChunk.Abort(CauseListChunk.UserInitiatedAbort, "The association is closed.")));
                return;
            default:
                // RFC 9260 §5.2.2: an unexpected INIT gets fresh values and our current tags as tie-tags; its
                // COOKIE-ECHO will be a restart (§5.2.4 case A).
                tag = NewTag();
                initialTsn = _options.InitialTsn ?? NewTag();
                localTieTag = _localTag;
                peerTieTag = _peerTag;
                break;
        }

        var cookie = new StateCookie(
            now, tag, initialTsn, init.InitiateTag, init.InitialTsn, init.AdvertisedReceiverWindow,
            init.OutboundStreams, init.InboundStreams, init.SupportsForwardTsn, init.SupportsExtension(ChunkType.ReConfig),
            localTieTag, peerTieTag);
        var initAck = BuildInit(isAck: true, tag, initialTsn, cookie.Sign(_cookieSecret));

        // RFC 9260 §5.1.3: unrecognized parameters with the report bit (0x4000) are listed back in the INIT-ACK.
        foreach (var p in init.Parameters)
        {
            if (!IsKnownParameter(p.Type) && (p.Type & 0x4000) != 0)
            {
                var raw = new byte[p.PaddedLength];
                p.WriteTo(raw);
                initAck.Parameters.Add(new SctpParameter(InitChunk.UnrecognizedParameter, raw[..(4 + p.Value.Length)]));
            }
            else if (!IsKnownParameter(p.Type) && (p.Type & 0x8000) == 0)
            {
                break;
            }
        }

        _control.Enqueue((init.InitiateTag, initAck));
    }

    private static bool IsKnownParameter(ushort type) => type is 5 or 6 or 9 or 11 or 12 or 0x8000 or
        InitChunk.SupportedExtensionsParameter or InitChunk.ForwardTsnSupportedParameter or 0x8002 or 0x8003 or 0x8004 or 0xC006;

    private void OnInitAck(InitChunk initAck, TimeSpan now)
    {
        // RFC 9260 §5.2.3: an INIT-ACK outside COOKIE-WAIT is discarded.
        if (State != SctpAssociationState.CookieWait || initAck.InitiateTag == 0)
        {
            return;
        }

        var cookie = initAck.StateCookie;
        if (cookie is null)
        {
            Abort("The INIT-ACK carried no state cookie.");
            return;
        }

        SetUpPeer(initAck.InitiateTag, initAck.InitialTsn, initAck.AdvertisedReceiverWindow, initAck.InboundStreams,
            initAck.SupportsForwardTsn, initAck.SupportsExtension(ChunkType.ReConfig));
        _cookieToEcho = cookie;
        _control.Enqueue((_peerTag, new CookieEchoChunk(cookie)));
        State = SctpAssociationState.CookieEchoed;
        _t1Retransmits = 0;
        _t1 = now + _rto;
    }

    private void OnCookieEcho(ReadOnlySpan<byte> value, uint packetTag, TimeSpan now)
    {
        if (_closedForGood)
        {
            return;
        }

        if (StateCookie.Verify(value, _cookieSecret) is not { } cookie || packetTag != cookie.LocalTag)
        {
            return;
        }

        var fresh = State == SctpAssociationState.Closed;
        var action = fresh ? CookieEchoAction.Duplicate : ClassifyCookieEcho(cookie, _localTag, _peerTag);
        if (action is CookieEchoAction.Discard or CookieEchoAction.LateCookie)
        {
            // RFC 9260 §5.2.4 C (a cookie that arrived late) and tag combinations outside the table: silently discard.
            return;
        }

        // A late copy of the cookie that built this very association (RFC 9260 §5.2.4 case D) only needs a COOKIE-ACK.
        if ((fresh || action != CookieEchoAction.Duplicate) && now - cookie.Created > _options.CookieLifetime)
        {
            // RFC 9260 §5.1.5 step 3: report a stale cookie with how late it was, in microseconds.
            var staleness = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(staleness, (uint)Math.Min(uint.MaxValue, (now - cookie.Created - _options.CookieLifetime).Ticks / 10));
            _control.Enqueue((cookie.PeerTag, new CauseListChunk(ChunkType.Error, 0, [new SctpParameter(CauseListChunk.StaleCookie, staleness)])));
            return;
        }

        var handshaking = State is SctpAssociationState.CookieWait or SctpAssociationState.CookieEchoed;
        switch (action)
        {
            case CookieEchoAction.Duplicate when fresh:
                _localTag = cookie.LocalTag;
                _localInitialTsn = cookie.LocalInitialTsn;
                ResetSendState();
                SetUpPeerFromCookie(cookie);
                EnterEstablished(now);
                break;
            case CookieEchoAction.Duplicate:
                // RFC 9260 §5.2.4 D: enter ESTABLISHED if not there yet and answer with COOKIE-ACK.
                if (handshaking && _tsnTracker is null)
                {
                    SetUpPeerFromCookie(cookie);
                }

                EnterEstablished(now);
                break;
            case CookieEchoAction.Collision when handshaking:
                // RFC 9260 §5.2.4 B: the peer picked a new tag after answering our INIT; take its side from the cookie.
                SetUpPeerFromCookie(cookie);
                EnterEstablished(now);
                break;
            case CookieEchoAction.Collision:
                // RFC 9260 §5.2.4 B: already ESTABLISHED; only the peer's verification tag changes.
                _peerTag = cookie.PeerTag;
                break;
            case CookieEchoAction.Restart when State == SctpAssociationState.ShutdownAckSent:
                // RFC 9260 §5.2.4 A: no restart while shutting down; repeat SHUTDOWN-ACK and tell the restarted peer why.
                _control.Enqueue((_peerTag, new EmptyChunk(ChunkType.ShutdownAck)));
                _control.Enqueue((cookie.PeerTag, new CauseListChunk(ChunkType.Error, 0, [new SctpParameter(CauseListChunk.CookieReceivedWhileShuttingDown, [])])));
                return;
            case CookieEchoAction.Restart:
                // RFC 9260 §5.2.4 A: the peer restarted; start over with the cookie's tags and fresh stream state.
                _localTag = cookie.LocalTag;
                _localInitialTsn = cookie.LocalInitialTsn;
                _control.Clear();
                ResetSendState();
                _reassembly.Clear();
                _unconsumedBytes = 0;
                SetUpPeerFromCookie(cookie);
                State = SctpAssociationState.Established;
                _events.Enqueue(new SctpEvent(SctpEventKind.Restarted));
                break;
            default:
                return;
        }

        _control.Enqueue((_peerTag, new EmptyChunk(ChunkType.CookieAck)));
    }

    /// <summary>RFC 9260 §5.2.4: what a valid COOKIE-ECHO means for an existing association, from its tags and tie-tags.</summary>
    internal static CookieEchoAction ClassifyCookieEcho(StateCookie cookie, uint localTag, uint peerTag)
    {
        var localMatch = cookie.LocalTag == localTag;
        var peerMatch = cookie.PeerTag == peerTag;
        if (localMatch)
        {
            return peerMatch ? CookieEchoAction.Duplicate : CookieEchoAction.Collision;
        }

        if (peerMatch)
        {
            return cookie.LocalTieTag == 0 && cookie.PeerTieTag == 0 ? CookieEchoAction.LateCookie : CookieEchoAction.Discard;
        }

        // Case A needs tie-tags naming this very association, so an old or forged-tag cookie cannot restart it.
        return peerTag != 0 && cookie.LocalTieTag == localTag && cookie.PeerTieTag == peerTag
            ? CookieEchoAction.Restart
            : CookieEchoAction.Discard;
    }

    private void OnCookieAck(TimeSpan now)
    {
        if (State == SctpAssociationState.CookieEchoed)
        {
            EnterEstablished(now);
        }
    }

    private void SetUpPeerFromCookie(StateCookie cookie) => SetUpPeer(
        cookie.PeerTag, cookie.PeerInitialTsn, cookie.PeerReceiveWindow, cookie.PeerInboundStreams,
        cookie.PeerSupportsForwardTsn, cookie.PeerSupportsReConfig);

    private void SetUpPeer(uint tag, uint initialTsn, uint receiveWindow, ushort peerInboundStreams, bool forwardTsn, bool reConfig)
    {
        _peerTag = tag;
        _peerSupportsForwardTsn = forwardTsn;
        _peerSupportsReConfig = reConfig;
        _peerRwnd = receiveWindow;
        _outboundStreamLimit = Math.Min(_options.Streams, peerInboundStreams);
        _tsnTracker = new TsnTracker(initialTsn);
        _peerNextRequestSequence = initialTsn;
    }

    private void EnterEstablished(TimeSpan now)
    {
        if (State is SctpAssociationState.Closed or SctpAssociationState.CookieWait or SctpAssociationState.CookieEchoed)
        {
            State = SctpAssociationState.Established;
            _t1 = Never;
            _sentInit = null;
            _cookieToEcho = null;
            _errorCount = 0;
            _heartbeatTimer = now + _options.HeartbeatInterval;
            _events.Enqueue(new SctpEvent(SctpEventKind.Connected));
        }
    }

    private void OnT1Expired(TimeSpan now)
    {
        _t1 = Never;
        if (State is not (SctpAssociationState.CookieWait or SctpAssociationState.CookieEchoed))
        {
            return;
        }

        // RFC 9260 §6.3.3 via §5.1: back off and retransmit INIT or COOKIE-ECHO, up to Max.Init.Retransmits.
        if (++_t1Retransmits > _options.MaxInitRetransmits)
        {
            EnterClosed(SctpEventKind.Aborted, "The handshake timed out.");
            return;
        }

        BackOffRto();
        if (State == SctpAssociationState.CookieWait)
        {
            _control.Enqueue((0, _sentInit!));
        }
        else
        {
            _control.Enqueue((_peerTag, new CookieEchoChunk(_cookieToEcho!)));
        }

        _t1 = now + _rto;
    }

    private InitChunk BuildInit(bool isAck, uint tag, uint initialTsn, byte[]? cookie)
    {
        var chunk = new InitChunk
        {
            IsAck = isAck,
            InitiateTag = tag,
            AdvertisedReceiverWindow = _options.ReceiveWindow,
            OutboundStreams = _options.Streams,
            InboundStreams = _options.Streams,
            InitialTsn = initialTsn,
            Parameters =
            [
                // RFC 5061 §4.2.7 and RFC 3758 §3.1: advertise RE-CONFIG and FORWARD-TSN, as Chromium does.
                new SctpParameter(InitChunk.SupportedExtensionsParameter, [(byte)ChunkType.ReConfig, (byte)ChunkType.ForwardTsn]),
                new SctpParameter(InitChunk.ForwardTsnSupportedParameter, []),
            ],
        };
        if (cookie is not null)
        {
            chunk.Parameters.Add(new SctpParameter(InitChunk.StateCookieParameter, cookie));
        }

        return chunk;
    }

    private void OnAbort(CauseListChunk abort)
    {
        if (State != SctpAssociationState.Closed || _peerTag != 0)
        {
            _control.Clear();
            EnterClosed(SctpEventKind.Aborted, "The peer aborted: " + DescribeCauses(abort.Causes));
        }
    }

    private void OnError(CauseListChunk error, TimeSpan now)
    {
        _events.Enqueue(new SctpEvent(SctpEventKind.ErrorReceived, Reason: DescribeCauses(error.Causes)));
        if (State == SctpAssociationState.CookieEchoed && error.Causes.Exists(c => c.Type == CauseListChunk.StaleCookie))
        {
            // RFC 9260 §5.2.6: our cookie went stale in transit; start the handshake again from INIT.
            State = SctpAssociationState.CookieWait;
            _peerTag = 0;
            _tsnTracker = null;
            _cookieToEcho = null;
            _control.Enqueue((0, _sentInit!));
            _t1 = now + _rto;
        }
    }

    private static string DescribeCauses(List<SctpParameter> causes)
    {
        if (causes.Count == 0)
        {
            return "no cause given";
        }

        return string.Join("; ", causes.Select(c => c.Type switch
        {
            CauseListChunk.UserInitiatedAbort or CauseListChunk.ProtocolViolation =>
                $"cause {c.Type}: {System.Text.Encoding.UTF8.GetString(c.Value)}",
            _ => $"cause {c.Type}",
        }));
    }

    private void EnterClosed(SctpEventKind kind, string reason)
    {
        var wasOpen = State != SctpAssociationState.Closed || _peerTag != 0;
        State = SctpAssociationState.Closed;
        _t1 = _t2 = _t3 = _delayedAck = _heartbeatTimer = _reconfigTimer = Never;
        DropAllSendState();
        _reassembly.Clear();
        _unconsumedBytes = 0;
        _peerTag = 0;
        _tsnTracker = null;
        _ackPending = false;
        _sackImmediate = false;
        if (wasOpen)
        {
            _events.Enqueue(new SctpEvent(kind, Reason: reason));
        }

        // A closed association is never reused: a new handshake needs a new association.
        _closedForGood = true;
    }

    private void OnHeartbeat(HeartbeatChunk heartbeat)
    {
        if (_peerTag != 0)
        {
            // RFC 9260 §8.3: echo the Heartbeat Info unchanged.
            _control.Enqueue((_peerTag, new HeartbeatChunk { IsAck = true, Parameters = heartbeat.Parameters }));
        }
    }

    private void OnHeartbeatAck(HeartbeatChunk ack, TimeSpan now)
    {
        if (ack.Info is not { Length: 16 } info || BinaryPrimitives.ReadUInt64BigEndian(info.AsSpan(8)) != _heartbeatNonce || _heartbeatNonce == 0)
        {
            return;
        }

        _heartbeatNonce = 0;
        _errorCount = 0;
        UpdateRtt(now - TimeSpan.FromTicks(BinaryPrimitives.ReadInt64BigEndian(info)), now);
    }

    private void OnHeartbeatTimer(TimeSpan now)
    {
        _heartbeatTimer = Never;
        if (State is not (SctpAssociationState.Established or SctpAssociationState.ShutdownPending or SctpAssociationState.ShutdownReceived))
        {
            return;
        }

        // RFC 9260 §8.3: heartbeats go to an idle path; data in the last interval proves it alive.
        // RFC 9260 §8.3: a path is idle when nothing was sent on it for a heartbeat interval, even with data
        // outstanding; the HEARTBEAT-ACK then gives a fresh RTT where Karn's rule forbids one from data.
        var idleSince = now - _lastDataSent;
        if (idleSince < _options.HeartbeatInterval)
        {
            _heartbeatTimer = _lastDataSent + _options.HeartbeatInterval + _rto;
            return;
        }

        if (_heartbeatNonce != 0 && !CountError("The peer stopped answering heartbeats."))
        {
            return;
        }

        _heartbeatNonce = NextNonZero64();
        _heartbeatDue = true;
        _heartbeatTimer = now + _options.HeartbeatInterval + _rto;
    }

    /// <summary>Counts a retransmission failure; aborts and returns false past Association.Max.Retrans (RFC 9260 §8.1).</summary>
    private bool CountError(string reason)
    {
        if (++_errorCount > _options.MaxAssociationRetransmits)
        {
            Abort(reason);
            return false;
        }

        return true;
    }

    private void UpdateRtt(TimeSpan rtt, TimeSpan now)
    {
        if (rtt < TimeSpan.Zero)
        {
            return;
        }

        // RFC 9260 §6.3.1 (RFC 6298 §2): smoothed RTT and variance, alpha 1/8, beta 1/4.
        if (!_rttMeasured)
        {
            _srtt = rtt;
            _rttVar = rtt / 2;
            _rttMeasured = true;
        }
        else
        {
            var delta = _srtt - rtt;
            _rttVar = ((_rttVar * 3) + (delta < TimeSpan.Zero ? -delta : delta)) / 4;
            _srtt = ((_srtt * 7) + rtt) / 8;
        }

        _latestRtt = rtt;
        TrackBaseRtt(rtt, now);
        var rto = _srtt + (4 * _rttVar);
        _rto = rto < _options.RtoMin ? _options.RtoMin : rto > _options.RtoMax ? _options.RtoMax : rto;
    }

    private void BackOffRto()
    {
        // RFC 9260 §6.3.3 E2: double the RTO, capped at RTO.Max.
        var doubled = _rto * 2;
        _rto = doubled > _options.RtoMax ? _options.RtoMax : doubled;
    }

    private uint NewTag()
    {
        uint value;
        Span<byte> bytes = stackalloc byte[4];
        do
        {
            if (_random is not null)
            {
                value = (uint)_random.NextInt64(1, uint.MaxValue);
            }
            else
            {
                RandomNumberGenerator.Fill(bytes);
                value = BinaryPrimitives.ReadUInt32BigEndian(bytes);
            }
        }
        while (value == 0);
        return value;
    }

    private ulong NextNonZero64() => ((ulong)NewTag() << 32) | NewTag();
}
