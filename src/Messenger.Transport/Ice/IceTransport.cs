using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Messenger.Transport.Stun;

namespace Messenger.Transport.Ice;

/// <summary>Receives one non-STUN datagram (DTLS) that came in on the ICE socket; the span is valid during the call.</summary>
public delegate void IceDataHandler(ReadOnlySpan<byte> datagram);

/// <summary>
/// The driver of an <see cref="IceAgent"/>: owns the one UDP socket of a peer connection, its receive loop and a
/// timer from the <see cref="TimeProvider"/>; sorts datagrams per RFC 7983 (STUN to the agent or the STUN client,
/// the rest to <see cref="DataReceived"/>) and sends application datagrams to the selected pair.
/// </summary>
public sealed class IceTransport : IAsyncDisposable
{
    private readonly IceTransportOptions _options;
    private readonly Socket _socket;
    private readonly TimeProvider _time;
    private readonly long _epoch;
    private readonly Lock _gate = new();
    private readonly ITimer _timer;
    private readonly CancellationTokenSource _stop = new();
    private readonly StunClient _stunClient;
    private readonly List<IceCandidate> _hostCandidates;
    private IceAgent? _agent;
    private Task? _receiveLoop;
    private Exception? _receiveError;
    private volatile IPEndPoint? _selected;
    private volatile SocketAddress? _selectedAddress;
    private readonly UdpSegmentBatch? _batch;
    private int _batchThread = -1;
    private volatile IPEndPoint[] _validated = [];
    private volatile SocketAddress[] _validatedAddresses = [];
    private TimeSpan _scheduled = TimeSpan.MaxValue;
    private int _disposed;

    public IceTransport(string localUfrag, string localPwd, IceTransportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(localUfrag);
        ArgumentNullException.ThrowIfNull(localPwd);
        _options = options ?? new IceTransportOptions();
        LocalUfrag = localUfrag;
        LocalPwd = localPwd;
        _time = _options.TimeProvider;
        _epoch = _time.GetTimestamp();
        _socket = new Socket(_options.BindAddress.AddressFamily, SocketType.Dgram, ProtocolType.Udp)
        {
            ReceiveBufferSize = _options.SocketBufferSize,
            SendBufferSize = _options.SocketBufferSize,
        };
        _socket.Bind(new IPEndPoint(_options.BindAddress, 0));
        LocalEndPoint = (IPEndPoint)_socket.LocalEndPoint!;
        _batch = _options.UdpSegmentationOffload && UdpSegmentBatch.IsPlatformSupported ? new UdpSegmentBatch(_socket) : null;
        _hostCandidates = GatherHostCandidates(LocalEndPoint, _options.IncludeLoopback);
        _stunClient = new StunClient((datagram, destination) => SendTo(datagram, destination), _options.StunClient with { TimeProvider = _time });
        _timer = _time.CreateTimer(static state => ((IceTransport)state!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public string LocalUfrag { get; }

    public string LocalPwd { get; }

    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Host candidates, known as soon as the socket is bound.</summary>
    public IReadOnlyList<IceCandidate> HostCandidates => _hostCandidates;

    public IceConnectionState State
    {
        get
        {
            lock (_gate)
            {
                return _agent?.State ?? IceConnectionState.New;
            }
        }
    }

    /// <summary>The remote address of the selected pair, or null.</summary>
    public IPEndPoint? SelectedRemote => _selected;

    /// <summary>Why ICE failed, when it did.</summary>
    public string? FailureReason
    {
        get
        {
            lock (_gate)
            {
                return Volatile.Read(ref _receiveError) is { } error
                    ? $"receiving stopped: {error.GetType().Name}: {error.Message}" + (_agent?.FailureReason is { } reason ? $"; {reason}" : "")
                    : _agent?.FailureReason;
            }
        }
    }

    /// <summary>A gathered local candidate; null once gathering is complete (end-of-candidates).</summary>
    public event Action<IceCandidate?>? LocalCandidate;

    public event Action<IceConnectionState>? StateChanged;

    /// <summary>Datagrams that are not STUN (RFC 7983 §7: first byte 20–63 is DTLS).</summary>
    public event IceDataHandler? DataReceived;

    private TimeSpan Now => _time.GetElapsedTime(_epoch);

    /// <summary>
    /// Creates the agent in its role, starts receiving and gathering: host candidates are announced at once,
    /// a server-reflexive one after the STUN server answers, then end-of-candidates.
    /// </summary>
    public void Start(bool controlling)
    {
        lock (_gate)
        {
            if (_agent is not null)
            {
                throw new InvalidOperationException("The ICE transport has already started.");
            }

            _agent = new IceAgent(_options.ConfigureAgent(new IceAgentOptions { Controlling = controlling, LocalUfrag = LocalUfrag, LocalPwd = LocalPwd }));
            foreach (var candidate in _hostCandidates)
            {
                _agent.AddLocalCandidate(candidate, Now);
            }
        }

        _receiveLoop = StartReceiveThread();
        foreach (var candidate in _hostCandidates)
        {
            LocalCandidate?.Invoke(candidate);
        }

        if (_options.StunServer is { } server)
        {
            _ = GatherServerReflexiveAsync(server);
        }
        else
        {
            LocalCandidate?.Invoke(null);
        }
    }

    public void SetRemoteCredentials(string ufrag, string pwd) => Drive(agent => agent.SetRemoteCredentials(ufrag, pwd, Now));

    public void AddRemoteCandidate(IceCandidate candidate) => Drive(agent => agent.AddRemoteCandidate(candidate, Now));

    public void SetRemoteEndOfCandidates() => Drive(agent => agent.SetRemoteEndOfCandidates(Now));

    /// <summary>Sends an application datagram (DTLS) on the selected pair; dropped while none is selected, as on a lossy path.</summary>
    public void Send(ReadOnlySpan<byte> datagram)
    {
        if (_selectedAddress is { } remote && Volatile.Read(ref _disposed) == 0)
        {
            if (_batch is { } batch && Volatile.Read(ref _batchThread) == Environment.CurrentManagedThreadId)
            {
                batch.Add(datagram, remote);
                return;
            }

            try
            {
                _socket.SendTo(datagram, SocketFlags.None, remote); // the SocketAddress overload: nothing serialized per datagram
            }
            catch (SocketException)
            {
                // Loss, as in SendTo below.
            }
            catch (ObjectDisposedException)
            {
                // Closed concurrently.
            }
        }
    }

    /// <summary>
    /// From now until <see cref="FlushBatch"/>, <see cref="Send"/> calls made on this thread are gathered and go out
    /// together (UDP GSO); other threads keep sending at once. One batching thread at a time: the SCTP event loop.
    /// </summary>
    public void BeginBatch()
    {
        if (_batch is { Enabled: true })
        {
            Volatile.Write(ref _batchThread, Environment.CurrentManagedThreadId);
        }
    }

    /// <summary>Sends what this thread gathered since <see cref="BeginBatch"/> and ends the batch.</summary>
    public void FlushBatch()
    {
        if (_batch is { } batch && Volatile.Read(ref _batchThread) == Environment.CurrentManagedThreadId)
        {
            Volatile.Write(ref _batchThread, -1);
            if (Volatile.Read(ref _disposed) == 0)
            {
                batch.Flush();
            }
        }
    }

    /// <summary>Datagrams sent by segmented sends and the number of those sends, for measurements.</summary>
    public (long Datagrams, long Sends) SegmentationCounts => _batch is { } batch ? (batch.SegmentedDatagrams, batch.SegmentedSends) : (0, 0);

    /// <summary>Host candidates for a socket bound to <paramref name="local"/> (RFC 8445 §5.1.1.1).</summary>
    public static List<IceCandidate> GatherHostCandidates(IPEndPoint local, bool includeLoopback)
    {
        ArgumentNullException.ThrowIfNull(local);
        var addresses = new List<IPAddress>();
        if (!local.Address.Equals(IPAddress.Any) && !local.Address.Equals(IPAddress.IPv6Any))
        {
            addresses.Add(local.Address);
        }
        else
        {
            foreach (var networkInterface in NetworkInterface.GetAllNetworkInterfaces())
            {
                if (networkInterface.OperationalStatus != OperationalStatus.Up)
                {
                    continue;
                }

                foreach (var unicast in networkInterface.GetIPProperties().UnicastAddresses)
                {
                    var address = unicast.Address;
                    if (address.AddressFamily == local.AddressFamily && (includeLoopback || !IPAddress.IsLoopback(address)) && !address.IsIPv6LinkLocal)
                    {
                        addresses.Add(address);
                    }
                }
            }
        }

        var candidates = new List<IceCandidate>();
        for (var i = 0; i < addresses.Count; i++)
        {
            // RFC 8445 §5.1.2.1: distinct local preferences per address, the first preferred.
            candidates.Add(new IceCandidate
            {
                Foundation = Foundation(IceCandidateType.Host, addresses[i]),
                Priority = IceCandidate.ComputePriority(IceCandidateType.Host, 65535 - i),
                Address = addresses[i].ToString(),
                Port = local.Port,
                Type = IceCandidateType.Host,
            });
        }

        return candidates;
    }

    // RFC 8445 §5.1.1.3: same type and base address → same foundation.
    private static string Foundation(IceCandidateType type, IPAddress baseAddress) =>
        ((uint)HashCode.Combine((int)type, baseAddress.ToString().GetHashCode(StringComparison.Ordinal)) % 1_000_000_000u).ToString(CultureInfo.InvariantCulture);

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
                    Foundation = Foundation(IceCandidateType.ServerReflexive, IPAddress.Parse(host.Address)),
                    Priority = IceCandidate.ComputePriority(IceCandidateType.ServerReflexive, 65535),
                    Address = mapped.Address.ToString(),
                    Port = mapped.Port,
                    Type = IceCandidateType.ServerReflexive,
                    RelatedAddress = host.Address,
                    RelatedPort = host.Port,
                };
                Drive(agent => agent.AddLocalCandidate(candidate, Now));
                LocalCandidate?.Invoke(candidate);
            }
        }
        catch (Exception e) when (e is StunTimeoutException or StunErrorResponseException or OperationCanceledException)
        {
            // RFC 8445 §5.1.1.2: a STUN server that does not answer only costs the srflx candidate; host ones remain.
        }

        LocalCandidate?.Invoke(null);
    }

    // A thread of its own with blocking receives into one buffer and one SocketAddress: nothing is allocated per
    // datagram and no pool thread hops in between (the async receive cost an IPEndPoint and a continuation each).
    private Task StartReceiveThread()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                ReceiveLoop();
            }
            catch (Exception e)
            {
                // An event handler threw on this thread. Not a process crash: receiving stops, consent freshness
                // turns the connection Disconnected then Failed, and FailureReason says why.
                Volatile.Write(ref _receiveError, e);
            }
            finally
            {
                done.TrySetResult();
            }
        })
        {
            IsBackground = true,
            Name = "ICE receive",
        };
        thread.Start();
        return done.Task;
    }

    private void ReceiveLoop()
    {
        var buffer = GC.AllocateUninitializedArray<byte>(65536, pinned: true);
        var source = new SocketAddress(_socket.AddressFamily);
        while (!_stop.IsCancellationRequested)
        {
            int received;
            try
            {
                received = _socket.ReceiveFrom(buffer, SocketFlags.None, source);
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionRefused or SocketError.MessageSize)
            {
                continue; // an ICMP error from an earlier send; the agent's timers deal with silence
            }
            catch (SocketException)
            {
                return; // the socket closed under the blocking receive, or broke: silence, which ICE consent notices
            }

            var datagram = buffer.AsSpan(0, received);
            switch (DatagramDemultiplexer.Classify(datagram))
            {
                case DatagramKind.Stun:
                    OnStun(datagram, ToEndPoint(source));
                    break;
                case DatagramKind.Dtls when IsValidated(source):
                    DataReceived?.Invoke(datagram);
                    break;
                default:
                    break; // RFC 7983: nothing else runs on this port
            }
        }
    }

    private IPEndPoint ToEndPoint(SocketAddress address) =>
        (IPEndPoint)(_socket.AddressFamily == AddressFamily.InterNetworkV6 ? new IPEndPoint(IPAddress.IPv6Any, 0) : new IPEndPoint(IPAddress.Any, 0)).Create(address);

    // Only addresses a connectivity check has proven (RFC 8445 §7.2.5.3.2 valid pairs) may feed DTLS: an off-path
    // sender that guesses the port cannot inject records into the handshake.
    private bool IsValidated(SocketAddress source)
    {
        foreach (var address in _validatedAddresses)
        {
            if (address.Equals(source))
            {
                return true; // the common case, compared without allocating
            }
        }

        var endPoint = ToEndPoint(source);
        var normalized = endPoint.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(endPoint.Address.MapToIPv4(), endPoint.Port) : endPoint;
        foreach (var validated in _validated)
        {
            if (validated.Equals(normalized))
            {
                return true;
            }
        }

        return false;
    }

    private void OnStun(ReadOnlySpan<byte> datagram, IPEndPoint source)
    {
        var handled = false;
        var copy = datagram.ToArray();
        Drive(agent => handled = agent.HandleDatagram(copy, source, Now));
        if (!handled && StunMessage.TryParse(datagram, out var message, out _))
        {
            _stunClient.HandleResponse(message);
        }
    }

    private void OnTimer()
    {
        // The timer fired, so nothing is scheduled any more; Drive must set it again even for the same deadline.
        lock (_gate)
        {
            _scheduled = TimeSpan.MaxValue;
        }

        Drive(agent => agent.HandleTimeout(Now));
    }

    /// <summary>Runs one call on the agent under the lock, sends what it produced, reschedules, then raises events.</summary>
    private void Drive(Action<IceAgent> action)
    {
        List<IceConnectionState>? states = null;
        lock (_gate)
        {
            if (_agent is not { } agent || Volatile.Read(ref _disposed) != 0)
            {
                return;
            }

            action(agent);
            while (agent.TryDequeueTransmit(out var transmit))
            {
                SendTo(transmit.Datagram, transmit.Destination);
            }

            while (agent.TryDequeueEvent(out var e))
            {
                if (e.State is { } state)
                {
                    (states ??= []).Add(state);
                }
            }

            var selected = agent.SelectedPair?.RemoteEndPoint;
            if (!Equals(selected, _selected))
            {
                _selectedAddress = selected is null ? null : AsReceived(selected);
                _selected = selected;
            }

            if (agent.Pairs.Count(p => p.State == IceCandidatePairState.Succeeded) != _validated.Length)
            {
                _validated = [.. agent.Pairs.Where(p => p.State == IceCandidatePairState.Succeeded).Select(p => p.RemoteEndPoint)];
                _validatedAddresses = [.. _validated.Select(AsReceived)];
            }
            var next = agent.NextTimeout;
            if (next != _scheduled)
            {
                _scheduled = next;
                // Whole milliseconds, rounded up: timers truncate, and an early tick would find nothing due.
                var delay = next == TimeSpan.MaxValue ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(Math.Max(1, Math.Ceiling((next - Now).TotalMilliseconds)));
                _timer.Change(delay, Timeout.InfiniteTimeSpan);
            }
        }

        if (states is not null)
        {
            foreach (var state in states)
            {
                StateChanged?.Invoke(state);
            }
        }
    }

    // The form a datagram from this endpoint has when our socket receives it (IPv4 on a dual-mode socket is mapped).
    private SocketAddress AsReceived(IPEndPoint endPoint) =>
        (_socket.AddressFamily == AddressFamily.InterNetworkV6 && endPoint.AddressFamily == AddressFamily.InterNetwork
            ? new IPEndPoint(endPoint.Address.MapToIPv6(), endPoint.Port)
            : endPoint).Serialize();

    private void SendTo(ReadOnlySpan<byte> datagram, IPEndPoint destination)
    {
        try
        {
            _socket.SendTo(datagram, SocketFlags.None, destination);
        }
        catch (SocketException)
        {
            // UDP gives no delivery promise: a full buffer or an unreachable peer is loss, which every layer above retries.
        }
        catch (ObjectDisposedException)
        {
            // Closed concurrently.
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        lock (_gate)
        {
            _agent?.Close();
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await _timer.DisposeAsync().ConfigureAwait(false);
        _socket.Dispose();
        if (_receiveLoop is not null)
        {
            await _receiveLoop.ConfigureAwait(false);
        }

        _stop.Dispose();
        StateChanged?.Invoke(IceConnectionState.Closed);
    }
}
