using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using Messenger.Transport.Stun;

namespace Messenger.Transport.Ice;

/// <summary>A datagram the agent wants sent from its socket.</summary>
public readonly record struct IceTransmit(byte[] Datagram, IPEndPoint Destination);

/// <summary>What changed inside the agent: a new state, or a newly selected pair.</summary>
public readonly record struct IceAgentEvent(IceConnectionState? State, IceCandidatePair? SelectedPair);

/// <summary>
/// One full ICE agent (RFC 8445) for one component over one socket, as a pure state machine: fed remote
/// candidates, received STUN datagrams and the time; it returns datagrams to send and events, and owns no socket
/// and no clock. Trickle (RFC 8838) and consent freshness (RFC 7675) included. Not thread-safe: one owner drives it.
/// </summary>
public sealed class IceAgent
{
    /// <summary>RFC 8445 §6.1.2.5: the checklist is capped (100 pairs by default) so a peer cannot grow it without bound.</summary>
    public const int MaxPairs = 100;

    private readonly IceAgentOptions _options;
    private readonly List<IceCandidate> _localCandidates = [];
    private readonly List<IceCandidatePair> _pairs = [];
    private readonly LinkedList<IceCandidatePair> _triggered = new();
    private readonly Dictionary<StunTransactionId, Check> _checks = [];
    private readonly Queue<IceTransmit> _transmits = new();
    private readonly Queue<IceAgentEvent> _events = new();
    private readonly Random _random;
    private byte[]? _remoteKey;
    private readonly byte[] _localKey;
    private string? _remoteUfrag;
    private bool _remoteEndOfCandidates;
    private TimeSpan _nextPacedCheck = TimeSpan.MaxValue;
    private TimeSpan _checkingStarted = TimeSpan.MaxValue;
    private TimeSpan _firstValid = TimeSpan.MaxValue;
    private TimeSpan _lastConsent;
    private TimeSpan _lastHeard;
    private TimeSpan _nextConsent = TimeSpan.MaxValue;
    private IceCandidatePair? _nominating;
    private int _prflxCount;

    private sealed class Check(IceCandidatePair pair, byte[] datagram, bool useCandidate, bool isConsent, TimeSpan rto, TimeSpan due)
    {
        public IceCandidatePair Pair { get; } = pair;
        public bool WasControlling { get; init; }
        public byte[] Datagram { get; } = datagram;
        public bool UseCandidate { get; } = useCandidate;
        public bool IsConsent { get; } = isConsent;
        public int Transmissions { get; set; } = 1;
        public TimeSpan Rto { get; set; } = rto;
        public TimeSpan Due { get; set; } = due;
    }

    public IceAgent(IceAgentOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        Controlling = options.Controlling;
        TieBreaker = options.TieBreaker ?? BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));
        _random = options.RandomSeed is { } seed ? new Random(seed) : new Random();
        _localKey = StunCredentials.ShortTermKey(options.LocalPwd);
    }

    public bool Controlling { get; private set; }

    public ulong TieBreaker { get; }

    public IceConnectionState State { get; private set; } = IceConnectionState.New;

    /// <summary>The nominated pair application data uses (RFC 8445 §8.1.1), or null.</summary>
    public IceCandidatePair? SelectedPair { get; private set; }

    public IReadOnlyList<IceCandidatePair> Pairs => _pairs;

    public IReadOnlyList<IceCandidate> LocalCandidates => _localCandidates;

    /// <summary>Why the agent failed, in words, when <see cref="State"/> is Failed.</summary>
    public string? FailureReason { get; private set; }

    /// <summary>When <see cref="HandleTimeout"/> should next run; <see cref="TimeSpan.MaxValue"/> for never.</summary>
    public TimeSpan NextTimeout
    {
        get
        {
            if (State is IceConnectionState.Closed or IceConnectionState.Failed)
            {
                return TimeSpan.MaxValue;
            }

            var next = HasCheckToSend ? _nextPacedCheck : TimeSpan.MaxValue;
            foreach (var check in _checks.Values)
            {
                next = Min(next, check.Due);
            }

            if (SelectedPair is null)
            {
                next = Min(next, _checkingStarted == TimeSpan.MaxValue ? TimeSpan.MaxValue : _checkingStarted + _options.CheckingTimeout);
                if (Controlling && _nominating is null && _firstValid != TimeSpan.MaxValue)
                {
                    next = Min(next, _firstValid + _options.NominationDelay);
                }
            }
            else
            {
                next = Min(next, _nextConsent);
                next = Min(next, _lastConsent + _options.ConsentTimeout);
                if (State != IceConnectionState.Disconnected)
                {
                    next = Min(next, _lastHeard + _options.DisconnectedTimeout);
                }

                if (!HasConsentCheckOut)
                {
                    next = Min(next, _lastHeard + _options.ProbeAfter);
                }
            }

            return next;
        }
    }

    private bool HasCheckToSend => _remoteKey is not null && (_triggered.Count > 0
        || (SelectedPair is null && _pairs.Exists(p => p.State is IceCandidatePairState.Waiting or IceCandidatePairState.Frozen)));

    /// <summary>Adds a local candidate; host candidates (whose base is the socket) are the ones paired.</summary>
    public void AddLocalCandidate(IceCandidate candidate, TimeSpan now)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        _localCandidates.Add(candidate);
        if (candidate.Type == IceCandidateType.Host)
        {
            foreach (var pair in _pairs.ToArray())
            {
                TryAddPair(candidate, pair.Remote, now);
            }
        }
    }

    /// <summary>The peer's a=ice-ufrag and a=ice-pwd; checking starts once they are known.</summary>
    public void SetRemoteCredentials(string ufrag, string pwd, TimeSpan now)
    {
        ArgumentNullException.ThrowIfNull(ufrag);
        ArgumentNullException.ThrowIfNull(pwd);
        _remoteUfrag = ufrag;
        _remoteKey = StunCredentials.ShortTermKey(pwd);
        StartChecking(now);
    }

    /// <summary>A remote candidate from SDP or trickled (RFC 8838); unusable ones (TCP, mDNS names) are ignored.</summary>
    public bool AddRemoteCandidate(IceCandidate candidate, TimeSpan now)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        if (State == IceConnectionState.Closed || candidate.Component != 1 || candidate.Protocol != "udp" || candidate.EndPoint is not { } endPoint)
        {
            return false;
        }

        var added = false;
        foreach (var local in _localCandidates)
        {
            if (local.Type == IceCandidateType.Host && local.EndPoint?.AddressFamily == endPoint.AddressFamily)
            {
                added |= TryAddPair(local, candidate, now);
            }
        }

        return added;
    }

    /// <summary>a=end-of-candidates from the peer (RFC 8838): with every pair failed, ICE has failed.</summary>
    public void SetRemoteEndOfCandidates(TimeSpan now)
    {
        _remoteEndOfCandidates = true;
        UpdateState(now);
    }

    /// <summary>Feeds one received STUN datagram; false when it is no ICE message of ours (e.g. a STUN server's answer).</summary>
    public bool HandleDatagram(ReadOnlySpan<byte> datagram, IPEndPoint source, TimeSpan now)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (State == IceConnectionState.Closed || !StunMessage.TryParse(datagram, out var message, out _) || message.Method != StunMethod.Binding)
        {
            return false;
        }

        source = Normalize(source);
        switch (message.Class)
        {
            case StunClass.Request:
                HandleRequest(message, source, now);
                return true;
            case StunClass.SuccessResponse or StunClass.ErrorResponse:
                return HandleResponse(message, source, now);
            default:
                return true; // RFC 7675 §5.1: Binding indications are keepalives with nothing to do
        }
    }

    /// <summary>Runs timers: paced checks (Ta), retransmissions, nomination, checking timeout, consent.</summary>
    public void HandleTimeout(TimeSpan now)
    {
        if (State is IceConnectionState.Closed or IceConnectionState.Failed)
        {
            return;
        }

        foreach (var (id, check) in _checks.ToArray())
        {
            if (check.Due > now)
            {
                continue;
            }

            if (check.Transmissions >= _options.MaxCheckTransmissions)
            {
                // RFC 8445 §7.2.5.2: a check with no answer after its retransmissions fails its pair.
                _checks.Remove(id);
                if (!check.IsConsent)
                {
                    check.Pair.State = IceCandidatePairState.Failed;
                    if (_nominating == check.Pair)
                    {
                        _nominating = null;
                    }
                }

                continue;
            }

            check.Transmissions++;
            check.Rto = Min(check.Rto * 2, _options.MaxCheckRto);
            check.Due = now + check.Rto;
            _transmits.Enqueue(new IceTransmit(check.Datagram, check.Pair.RemoteEndPoint));
        }

        if (now >= _nextPacedCheck)
        {
            _nextPacedCheck = SendNextCheck(now) ? now + _options.Ta : TimeSpan.MaxValue;
        }

        if (Controlling && SelectedPair is null && _nominating is null && !_options.AggressiveNomination)
        {
            MaybeNominate(now);
        }

        if (SelectedPair is { } selected && now >= _nextConsent)
        {
            // RFC 7675 §5.1: consent checks at randomized intervals in [0.8, 1.2] × the interval.
            SendCheck(selected, useCandidate: false, isConsent: true, now);
            _nextConsent = now + _options.ConsentInterval * (0.8 + (0.4 * _random.NextDouble()));
        }
        else if (SelectedPair is { } silent && now - _lastHeard >= _options.ProbeAfter && !HasConsentCheckOut)
        {
            // Nothing from the peer for a while: ask now whether it is still there (an extra consent check).
            SendCheck(silent, useCandidate: false, isConsent: true, now);
        }

        UpdateState(now);
    }

    /// <summary>
    /// Something authenticated came from the peer on the selected pair (a DTLS record): it is alive. Cheap enough for
    /// every record; true when this ended a Disconnected state (the caller then drains the agent's events).
    /// </summary>
    public bool NoteHeard(TimeSpan now)
    {
        _lastHeard = now;
        if (State != IceConnectionState.Disconnected || SelectedPair is null)
        {
            return false;
        }

        UpdateState(now);
        return true;
    }

    private bool HasConsentCheckOut
    {
        get
        {
            foreach (var check in _checks.Values)
            {
                if (check.IsConsent)
                {
                    return true;
                }
            }

            return false;
        }
    }

    public bool TryDequeueTransmit(out IceTransmit transmit) => _transmits.TryDequeue(out transmit);

    public bool TryDequeueEvent(out IceAgentEvent agentEvent) => _events.TryDequeue(out agentEvent);

    /// <summary>Stops everything; no more checks or answers.</summary>
    public void Close()
    {
        _checks.Clear();
        _triggered.Clear();
        SetState(IceConnectionState.Closed);
    }

    private void StartChecking(TimeSpan now)
    {
        if (State == IceConnectionState.New)
        {
            _checkingStarted = now;
            SetState(IceConnectionState.Checking);
        }

        ScheduleCheck(now);
    }

    private void ScheduleCheck(TimeSpan now)
    {
        if (_nextPacedCheck == TimeSpan.MaxValue)
        {
            _nextPacedCheck = now;
        }
    }

    private bool TryAddPair(IceCandidate local, IceCandidate remote, TimeSpan now)
    {
        var endPoint = Normalize(remote.EndPoint!);

        // RFC 8445 §6.1.2.4: pairs are redundant when they share the local base and the remote address.
        var existing = _pairs.Find(p => p.RemoteEndPoint.Equals(endPoint));
        if (existing is not null)
        {
            if (existing.Remote.Type == IceCandidateType.PeerReflexive && remote.Type != IceCandidateType.PeerReflexive)
            {
                existing.Remote = remote; // the signalled candidate replaces the learnt prflx one (RFC 8445 §7.3.1.3)
            }

            return false;
        }

        if (_pairs.Count >= MaxPairs)
        {
            return false;
        }

        var pair = new IceCandidatePair(local, remote, endPoint);

        // RFC 8445 §6.1.2.6: one pair per foundation starts Waiting, the rest Frozen.
        pair.State = _pairs.Exists(p => p.Foundation == pair.Foundation && p.State != IceCandidatePairState.Failed)
            ? IceCandidatePairState.Frozen
            : IceCandidatePairState.Waiting;
        _pairs.Add(pair);
        if (_remoteKey is not null)
        {
            ScheduleCheck(now);
        }

        return true;
    }

    private bool SendNextCheck(TimeSpan now)
    {
        if (_remoteKey is null)
        {
            return false;
        }

        // RFC 8445 §6.1.4.2: the triggered-check queue first, then the highest-priority Waiting, then Frozen pair.
        IceCandidatePair? pair = null;
        var nominate = false;
        if (_triggered.First is { } first)
        {
            pair = first.Value;
            _triggered.RemoveFirst();
            nominate = pair == _nominating;
        }
        else if (SelectedPair is null)
        {
            pair = Best(IceCandidatePairState.Waiting) ?? Best(IceCandidatePairState.Frozen);
        }

        if (pair is null)
        {
            return false;
        }

        SendCheck(pair, nominate || (Controlling && _options.AggressiveNomination), isConsent: false, now);
        return true;
    }

    private IceCandidatePair? Best(IceCandidatePairState state)
    {
        IceCandidatePair? best = null;
        foreach (var pair in _pairs)
        {
            if (pair.State == state && (best is null || pair.Priority(Controlling) > best.Priority(Controlling)))
            {
                best = pair;
            }
        }

        return best;
    }

    private void SendCheck(IceCandidatePair pair, bool useCandidate, bool isConsent, TimeSpan now)
    {
        // RFC 8445 §7.2.2: USERNAME remote:local, PRIORITY of a would-be prflx candidate, the role and tie-breaker.
        var request = new StunMessage(StunClass.Request, StunMethod.Binding, StunTransactionId.NewId())
            .AddUsername($"{_remoteUfrag}:{_options.LocalUfrag}")
            .AddPriority(IceCandidate.ComputePriority(IceCandidateType.PeerReflexive, (int)((pair.Local.Priority >> 8) & 0xFFFF), pair.Local.Component));
        if (Controlling)
        {
            request.AddIceControlling(TieBreaker);
        }
        else
        {
            request.AddIceControlled(TieBreaker);
        }

        if (useCandidate && Controlling)
        {
            request.AddUseCandidate();
        }

        var datagram = request.Encode(_remoteKey, fingerprint: true);
        if (!isConsent && pair.State != IceCandidatePairState.Succeeded)
        {
            pair.State = IceCandidatePairState.InProgress;
        }

        _checks[request.TransactionId] = new Check(pair, datagram, useCandidate && Controlling, isConsent, _options.CheckRto, now + _options.CheckRto) { WasControlling = Controlling };
        _transmits.Enqueue(new IceTransmit(datagram, pair.RemoteEndPoint));
    }

    private void HandleRequest(StunMessage request, IPEndPoint source, TimeSpan now)
    {
        // RFC 8445 §7.3: USERNAME must start with our ufrag and MESSAGE-INTEGRITY must verify with our password.
        var username = request.Username;
        var colon = username?.IndexOf(':', StringComparison.Ordinal) ?? -1;
        if (username is null || !request.HasMessageIntegrity || colon < 0)
        {
            Respond(Error(request, StunErrorCode.BadRequest, "USERNAME and MESSAGE-INTEGRITY are required"), source, authenticated: false);
            return;
        }

        if (username[..colon] != _options.LocalUfrag || !request.VerifyIntegrity(_localKey))
        {
            Respond(Error(request, StunErrorCode.Unauthorized, "Unauthorized"), source, authenticated: false);
            return;
        }

        if (request.Priority is not { } priority)
        {
            Respond(Error(request, StunErrorCode.BadRequest, "PRIORITY is required"), source, authenticated: true);
            return;
        }

        // RFC 8445 §7.3.1.1: role conflict, resolved by the tie-breakers.
        if (Controlling && request.IceControlling is { } theirs)
        {
            if (TieBreaker >= theirs)
            {
                Respond(Error(request, StunErrorCode.RoleConflict, "Role Conflict"), source, authenticated: true);
                return;
            }

            SwitchRole();
        }
        else if (!Controlling && request.IceControlled is { } theirsControlled)
        {
            if (TieBreaker >= theirsControlled)
            {
                SwitchRole();
            }
            else
            {
                Respond(Error(request, StunErrorCode.RoleConflict, "Role Conflict"), source, authenticated: true);
                return;
            }
        }

        var response = new StunMessage(StunClass.SuccessResponse, StunMethod.Binding, request.TransactionId).AddXorMappedAddress(source);
        Respond(response, source, authenticated: true);

        // RFC 8445 §7.3.1.3: an unknown source address is a peer-reflexive remote candidate.
        var pair = _pairs.Find(p => p.RemoteEndPoint.Equals(source));
        if (pair is null)
        {
            var local = _localCandidates.Find(c => c.Type == IceCandidateType.Host && c.EndPoint?.AddressFamily == source.AddressFamily);
            if (local is null || _pairs.Count >= MaxPairs)
            {
                return;
            }

            var prflx = new IceCandidate
            {
                Foundation = "prflx" + (++_prflxCount).ToString(CultureInfo.InvariantCulture),
                Priority = priority,
                Address = source.Address.ToString(),
                Port = source.Port,
                Type = IceCandidateType.PeerReflexive,
            };
            pair = new IceCandidatePair(local, prflx, source) { State = IceCandidatePairState.Waiting };
            _pairs.Add(pair);
        }

        pair.RequestReceived = true;
        var useCandidate = request.UseCandidate && !Controlling;
        if (pair.State == IceCandidatePairState.Succeeded)
        {
            if (useCandidate)
            {
                // RFC 8445 §7.3.1.5: USE-CANDIDATE on a valid pair nominates it.
                pair.Nominated = true;
                Select(pair, now);
            }
        }
        else
        {
            // RFC 8445 §7.3.1.4: a triggered check on the pair the request came in on.
            pair.NominateOnSuccess |= useCandidate;
            if (pair.State != IceCandidatePairState.InProgress && !_triggered.Contains(pair))
            {
                pair.State = IceCandidatePairState.Waiting;
                _triggered.AddLast(pair);
            }

            ScheduleCheck(now);
        }

        UpdateState(now);
    }

    private bool HandleResponse(StunMessage response, IPEndPoint source, TimeSpan now)
    {
        if (!_checks.TryGetValue(response.TransactionId, out var check))
        {
            return false;
        }

        // RFC 8445 §7.2.5.1: a response must carry MESSAGE-INTEGRITY made with the peer's password; else ignore it.
        if (_remoteKey is null || !response.VerifyIntegrity(_remoteKey))
        {
            return true;
        }

        _checks.Remove(response.TransactionId);
        var pair = check.Pair;
        if (response.Class == StunClass.ErrorResponse)
        {
            if (response.ErrorCode?.Code == StunErrorCode.RoleConflict && !check.IsConsent)
            {
                // RFC 8445 §7.2.5.1: switch role and retry the check as a triggered one.
                if (check.WasControlling == Controlling)
                {
                    SwitchRole();
                }

                pair.State = IceCandidatePairState.Waiting;
                _triggered.AddFirst(pair);
                ScheduleCheck(now);
            }
            else if (!check.IsConsent)
            {
                pair.State = IceCandidatePairState.Failed;
            }

            UpdateState(now);
            return true;
        }

        // RFC 8445 §7.2.5.2.1: the response must come from where the request went (symmetric addresses).
        if (!source.Equals(pair.RemoteEndPoint))
        {
            if (!check.IsConsent)
            {
                pair.State = IceCandidatePairState.Failed;
            }

            UpdateState(now);
            return true;
        }

        if (check.IsConsent || pair == SelectedPair)
        {
            // RFC 7675 §5.1: an authenticated answer on the selected pair renews consent.
            _lastConsent = now;
            _lastHeard = now;
            if (check.IsConsent)
            {
                UpdateState(now);
                return true;
            }
        }

        pair.State = IceCandidatePairState.Succeeded;
        if (_firstValid == TimeSpan.MaxValue)
        {
            _firstValid = now;
        }

        // RFC 8445 §7.2.5.3.3: success unfreezes pairs of the same foundation.
        foreach (var other in _pairs)
        {
            if (other.State == IceCandidatePairState.Frozen && other.Foundation == pair.Foundation)
            {
                other.State = IceCandidatePairState.Waiting;
            }
        }

        if (check.UseCandidate || (!Controlling && pair.NominateOnSuccess))
        {
            pair.Nominated = true;
            if (_nominating == pair)
            {
                _nominating = null;
            }

            Select(pair, now);
        }
        else if (Controlling && SelectedPair is null && _nominating is null && !_options.AggressiveNomination)
        {
            MaybeNominate(now);
        }

        UpdateState(now);
        return true;
    }

    private void MaybeNominate(TimeSpan now)
    {
        // RFC 8445 §8.1.1: regular nomination picks a valid pair, here the best once checks are done or after a short wait.
        var stillChecking = _pairs.Exists(p => p.State is IceCandidatePairState.Waiting or IceCandidatePairState.InProgress or IceCandidatePairState.Frozen);
        if (_firstValid == TimeSpan.MaxValue || (stillChecking && now < _firstValid + _options.NominationDelay))
        {
            return;
        }

        var best = Best(IceCandidatePairState.Succeeded);
        if (best is null)
        {
            return;
        }

        _nominating = best;
        _triggered.AddFirst(best);

        // With every check finished nothing else wants a pacing slot: the one nominating check on a proven pair goes
        // out now instead of waiting out Ta (RFC 8445 §14.2 paces to spread new transactions; this adds none).
        if (!stillChecking)
        {
            _nextPacedCheck = Min(_nextPacedCheck, now);
        }

        ScheduleCheck(now);
        if (now >= _nextPacedCheck)
        {
            _nextPacedCheck = SendNextCheck(now) ? now + _options.Ta : TimeSpan.MaxValue;
        }
    }

    private void Select(IceCandidatePair pair, TimeSpan now)
    {
        if (SelectedPair is not null && SelectedPair.Priority(Controlling) >= pair.Priority(Controlling))
        {
            return;
        }

        var first = SelectedPair is null;
        SelectedPair = pair;
        _events.Enqueue(new IceAgentEvent(null, pair));
        if (first)
        {
            _lastConsent = now;
            _lastHeard = now;
            _nextConsent = now + _options.ConsentInterval;
        }
    }

    private void SwitchRole()
    {
        Controlling = !Controlling;
        _nominating = null;
    }

    private void UpdateState(TimeSpan now)
    {
        if (State is IceConnectionState.Closed or IceConnectionState.Failed)
        {
            return;
        }

        if (HasCheckToSend && _nextPacedCheck == TimeSpan.MaxValue)
        {
            _nextPacedCheck = now; // a pair became sendable (unfrozen, re-triggered): resume pacing
        }

        if (SelectedPair is null)
        {
            var allFailed = _pairs.TrueForAll(p => p.State == IceCandidatePairState.Failed) && _checks.Count == 0;
            if (State == IceConnectionState.Checking && now >= _checkingStarted + _options.CheckingTimeout)
            {
                Fail($"No candidate pair answered within {_options.CheckingTimeout.TotalSeconds:0.###} s of ICE checks ({_pairs.Count} pairs tried).");
            }
            else if (State == IceConnectionState.Checking && _remoteEndOfCandidates && allFailed && _pairs.Count > 0)
            {
                Fail($"Every candidate pair failed ({_pairs.Count} tried) and the peer has no more candidates.");
            }

            return;
        }

        var silence = now - _lastConsent;
        if (silence >= _options.ConsentTimeout)
        {
            // RFC 7675 §5.1: consent expired; stop sending on the pair. A late tick still reports Disconnected first.
            SetState(IceConnectionState.Disconnected);
            Fail($"Consent expired: no answer from {SelectedPair.RemoteEndPoint} for {silence.TotalSeconds:0.#} s.");
            SelectedPair = null;
        }
        else if (now - _lastHeard >= _options.DisconnectedTimeout)
        {
            SetState(IceConnectionState.Disconnected);
        }
        else
        {
            SetState(_remoteEndOfCandidates ? IceConnectionState.Completed : IceConnectionState.Connected);
        }
    }

    private void Fail(string reason)
    {
        FailureReason = reason;
        _checks.Clear();
        _triggered.Clear();
        SetState(IceConnectionState.Failed);
    }

    private void SetState(IceConnectionState state)
    {
        if (State != state)
        {
            State = state;
            _events.Enqueue(new IceAgentEvent(state, null));
        }
    }

    private static StunMessage Error(StunMessage request, int code, string reason) =>
        new StunMessage(StunClass.ErrorResponse, StunMethod.Binding, request.TransactionId).AddErrorCode(code, reason);

    private void Respond(StunMessage response, IPEndPoint destination, bool authenticated) =>
        _transmits.Enqueue(new IceTransmit(response.Encode(authenticated ? _localKey : default, fingerprint: true), destination));

    [return: NotNullIfNotNull(nameof(endPoint))]
    private static IPEndPoint? Normalize(IPEndPoint? endPoint) =>
        endPoint is not null && endPoint.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(endPoint.Address.MapToIPv4(), endPoint.Port) : endPoint;

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
