using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Messenger.Transport.DataChannels;
using Messenger.Transport.Ice;
using Messenger.Transport.Sctp;

namespace Messenger.Transport.Connection;

/// <summary>
/// The one loop of a peer connection: a thread that owns the UDP socket and drives a <see cref="ConnectionCore"/>.
/// Each turn it runs the commands other threads posted (sends, opens, ICE input), the timers that are due, flushes
/// what the core produced in as few sends as the kernel allows (UDP GSO), then takes every datagram queued (recvmmsg,
/// UDP GRO) and feeds them to the core one by one, in place. It blocks only in the receive, bounded by the core's
/// next deadline; a post wakes it with a one-byte datagram to its own socket, so nothing polls.
/// </summary>
internal sealed class ConnectionLoop : IConnectionSocket, IDataChannelLoop, IAsyncDisposable
{
    private const byte WakeByte = 0xFF; // RFC 7983 assigns 255 to nothing: the core drops it unread
    private static readonly TimeSpan MaxWait = TimeSpan.FromHours(1);

    private readonly Socket _socket;
    private readonly UdpReceiveBatch _receive;
    private readonly UdpSegmentBatch? _gso;
    private readonly byte[] _single;
    private readonly TimeProvider _time;
    private readonly bool _systemTime;
    private readonly long _epoch;
    private readonly ConcurrentQueue<Command> _commands = new();
    private readonly IPEndPoint _wakeEndPoint;
    private readonly ITimer? _timer;
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Thread _thread;
    private SocketAddress? _remote;
    private IPEndPoint? _remoteEndPoint;
    private TimeSpan _armed = TimeSpan.MaxValue;
    private long _consumedPending;
    private int _sleeping;
    private volatile bool _stopping;
    private int _disposed;

    public ConnectionLoop(IceTransportOptions options, IConnectionEvents events)
    {
        _time = options.TimeProvider;
        _systemTime = ReferenceEquals(_time, TimeProvider.System);
        _epoch = _time.GetTimestamp();
        _socket = new Socket(options.BindAddress.AddressFamily, SocketType.Dgram, ProtocolType.Udp)
        {
            ReceiveBufferSize = options.SocketBufferSize,
            SendBufferSize = options.SocketBufferSize,
        };
        _socket.Bind(new IPEndPoint(options.BindAddress, 0));
        LocalEndPoint = (IPEndPoint)_socket.LocalEndPoint!;
        _wakeEndPoint = new IPEndPoint(
            LocalEndPoint.Address.Equals(IPAddress.Any) ? IPAddress.Loopback : LocalEndPoint.Address.Equals(IPAddress.IPv6Any) ? IPAddress.IPv6Loopback : LocalEndPoint.Address,
            LocalEndPoint.Port);
        _receive = new UdpReceiveBatch(_socket, options.BatchedReceive);
        _gso = options.UdpSegmentationOffload && UdpSegmentBatch.IsPlatformSupported ? new UdpSegmentBatch(_socket) : null;
        _single = GC.AllocateUninitializedArray<byte>(65536, pinned: true);
        Core = new ConnectionCore(this, events);
        _timer = _systemTime ? null : _time.CreateTimer(static state => ((ConnectionLoop)state!).Wake(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _thread = new Thread(Run) { IsBackground = true, Name = "Connection loop" };
    }

    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Touch only on the loop thread (inside a posted action) — or before <see cref="Start"/>.</summary>
    public ConnectionCore Core { get; }

    /// <summary>Completes when the loop thread has ended; faults if it ended by an exception.</summary>
    public Task Done => _done.Task;

    /// <summary>The elapsed time the core runs on.</summary>
    public TimeSpan Now => _time.GetElapsedTime(_epoch);

    /// <summary>Datagrams sent in UDP GSO sends and the number of those sends.</summary>
    public (long Datagrams, long Sends) SegmentationCounts => _gso is { } gso ? (gso.SegmentedDatagrams, gso.SegmentedSends) : (0, 0);

    public bool GroEnabled => _receive.GroEnabled;

    public void Start() => _thread.Start();

    /// <summary>Runs <paramref name="action"/> on the loop thread, in order with every other post.</summary>
    public void Post(Action<ConnectionCore, TimeSpan> action) => Enqueue(new Command(CommandKind.Invoke, Action: action));

    void IDataChannelLoop.PostSend(SctpDataChannel channel, uint ppid, OutboundPayload payload)
    {
        if (_stopping)
        {
            payload.Release();
            return;
        }

        Enqueue(new Command(CommandKind.Send, channel, ppid, payload));
    }

    public void PostOpen(SctpDataChannel channel) => Enqueue(new Command(CommandKind.Open, channel));

    void IDataChannelLoop.PostClose(SctpDataChannel channel) => Enqueue(new Command(CommandKind.Close, channel));

    void IDataChannelLoop.ReportConsumed(long bytes)
    {
        // Readers report often; one command carries whatever accumulated meanwhile.
        if (Interlocked.Add(ref _consumedPending, bytes) == bytes)
        {
            Enqueue(new Command(CommandKind.Consumed));
        }
    }

    /// <summary>Sends a handshake datagram from BouncyCastle's thread to the selected pair (dropped while none is).</summary>
    public void SendToSelected(ReadOnlySpan<byte> datagram)
    {
        if (Volatile.Read(ref _remote) is { } remote)
        {
            SendSafely(datagram, remote);
        }
    }

    /// <summary>Sends one datagram from any thread (the STUN client's gathering).</summary>
    public void SendFromAnyThread(ReadOnlySpan<byte> datagram, IPEndPoint destination)
    {
        try
        {
            _socket.SendTo(datagram, SocketFlags.None, destination);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // UDP loss, or closing.
        }
    }

    // ---------------------------------------------------------------- IConnectionSocket (loop thread)

    public Span<byte> Reserve(int maxLength) => _gso is { Enabled: true } gso ? gso.Reserve(maxLength) : _single.AsSpan(0, maxLength);

    public void Commit(int length)
    {
        if (_remote is not { } remote)
        {
            return;
        }

        if (_gso is { Enabled: true } gso)
        {
            gso.Commit(length, remote);
        }
        else
        {
            SendSafely(_single.AsSpan(0, length), remote);
        }
    }

    public void SendTo(ReadOnlySpan<byte> datagram, IPEndPoint destination) => SendFromAnyThread(datagram, destination);

    public void SetRemote(IPEndPoint remote)
    {
        _gso?.Flush();
        _remoteEndPoint = remote;
        Volatile.Write(ref _remote, Encode(remote) is var bytes ? ToSocketAddress(bytes) : null);
    }

    public byte[] Encode(IPEndPoint endPoint)
    {
        // The form a datagram from this endpoint has when our socket receives it (IPv4 on a dual-mode socket is mapped).
        var received = _socket.AddressFamily == AddressFamily.InterNetworkV6 && endPoint.AddressFamily == AddressFamily.InterNetwork
            ? new IPEndPoint(endPoint.Address.MapToIPv6(), endPoint.Port)
            : endPoint;
        var address = received.Serialize();
        return address.Buffer.Span[..address.Size].ToArray();
    }

    public IPEndPoint Decode(ReadOnlySpan<byte> address)
    {
        var socketAddress = new SocketAddress(_socket.AddressFamily, address.Length);
        address.CopyTo(socketAddress.Buffer.Span);
        var template = _socket.AddressFamily == AddressFamily.InterNetworkV6 ? new IPEndPoint(IPAddress.IPv6Any, 0) : new IPEndPoint(IPAddress.Any, 0);
        var endPoint = (IPEndPoint)template.Create(socketAddress);
        return endPoint.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(endPoint.Address.MapToIPv4(), endPoint.Port) : endPoint;
    }

    // ---------------------------------------------------------------- the loop

    private void Run()
    {
        try
        {
            while (!_stopping)
            {
                var now = Now;
                RunCommands(now);
                if (Core.NextTimeout <= now)
                {
                    Core.HandleTimeout(now);
                }

                Core.Flush(now);
                _gso?.Flush();
                if (_stopping)
                {
                    break;
                }

                // Take what is queued without waiting; wait only when nothing is.
                var buffers = _receive.Receive(wait: false);
                if (buffers == 0)
                {
                    // A full fence between announcing the sleep and looking at the queue (a poster fences between
                    // its enqueue and looking at the flag): one of the two always sees the other, so no post is left
                    // waiting for the next deadline.
                    Interlocked.Exchange(ref _sleeping, 1);
                    if (!_commands.IsEmpty || _stopping)
                    {
                        Volatile.Write(ref _sleeping, 0);
                        continue;
                    }

                    _receive.SetTimeout(WaitTime());
                    buffers = _receive.Receive(wait: true);
                    Volatile.Write(ref _sleeping, 0);
                }

                if (buffers > 0)
                {
                    HandleReceived(Now, buffers);
                }
            }

            // What was posted before the stop still happens (a shutdown, close_notify), then goes out.
            var end = Now;
            RunCommands(end);
            Core.Flush(end);
            _gso?.Flush();
            _done.TrySetResult();
        }
        catch (ObjectDisposedException)
        {
            _done.TrySetResult(); // the socket closed under us: stopping
        }
        catch (Exception e)
        {
            // A bug in a machine, or a handler that threw on this thread: not a process crash. The owner sees the
            // loop end with this error and fails the connection.
            _done.TrySetException(e);
        }
    }

    private void HandleReceived(TimeSpan now, int buffers)
    {
        for (var i = 0; i < buffers; i++)
        {
            var data = _receive.Buffer(i);
            var segment = _receive.SegmentSize(i);
            var source = _receive.Source(i);
            for (var offset = 0; offset < data.Length; offset += segment)
            {
                Core.HandleDatagram(data.Slice(offset, Math.Min(segment, data.Length - offset)), source, now);
            }
        }
    }

    private void RunCommands(TimeSpan now)
    {
        while (_commands.TryDequeue(out var command))
        {
            switch (command.Kind)
            {
                case CommandKind.Send:
                    Core.Send(command.Channel!, command.Ppid, command.Payload, now);
                    break;
                case CommandKind.Open:
                    Core.Open(command.Channel!, now);
                    break;
                case CommandKind.Close:
                    Core.Close(command.Channel!);
                    break;
                case CommandKind.Consumed:
                    Core.Consumed(Interlocked.Exchange(ref _consumedPending, 0));
                    break;
                case CommandKind.Invoke:
                    command.Action!(Core, now);
                    break;
            }
        }
    }

    /// <summary>How long the receive may block: until the core's next deadline (on the system clock), else until woken.</summary>
    private TimeSpan WaitTime()
    {
        var deadline = Core.NextTimeout;
        if (!_systemTime)
        {
            // A test's clock: its timer wakes us; re-armed only when the deadline moves earlier (a late one is harmless).
            var current = Now;
            if (deadline < _armed || _armed <= current)
            {
                _armed = deadline;
                _timer!.Change(deadline == TimeSpan.MaxValue || deadline - current > MaxWait ? Timeout.InfiniteTimeSpan : Max(deadline - current, TimeSpan.FromMilliseconds(1)), Timeout.InfiniteTimeSpan);
            }

            return Timeout.InfiniteTimeSpan;
        }

        // A deadline past an hour (or none) waits for a wake-up: the core's far deadlines need no precision.
        var now = Now;
        return deadline == TimeSpan.MaxValue || deadline - now > MaxWait ? Timeout.InfiniteTimeSpan : Max(deadline - now, TimeSpan.Zero);
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private void Enqueue(Command command)
    {
        _commands.Enqueue(command);
        if (Volatile.Read(ref _sleeping) == 1 && Interlocked.Exchange(ref _sleeping, 0) == 1)
        {
            SendWake();
        }
    }

    private void Wake()
    {
        if (Interlocked.Exchange(ref _sleeping, 0) == 1)
        {
            SendWake();
        }
    }

    private void SendWake() => SendFromAnyThread([WakeByte], _wakeEndPoint);

    private void SendSafely(ReadOnlySpan<byte> datagram, SocketAddress destination)
    {
        try
        {
            _socket.SendTo(datagram, SocketFlags.None, destination);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // UDP gives no delivery promise: a full buffer or an unreachable peer is loss, which every layer above retries.
        }
    }

    private SocketAddress ToSocketAddress(byte[] bytes)
    {
        var address = new SocketAddress(_socket.AddressFamily, bytes.Length);
        bytes.CopyTo(address.Buffer.Span);
        return address;
    }

    /// <summary>Stops the loop after the commands already posted, then closes the socket.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stopping = true;
        if (_thread.IsAlive)
        {
            SendWake();
            await _done.Task.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        if (_timer is not null)
        {
            await _timer.DisposeAsync().ConfigureAwait(false);
        }

        _socket.Dispose();
        _receive.Dispose();
        Core.Dispose();
        while (_commands.TryDequeue(out var left))
        {
            left.Payload.Release();
        }
    }

    private enum CommandKind
    {
        Send,
        Open,
        Close,
        Consumed,
        Invoke,
    }

    private readonly record struct Command(CommandKind Kind, SctpDataChannel? Channel = null, uint Ppid = 0, OutboundPayload Payload = default, Action<ConnectionCore, TimeSpan>? Action = null);
}
