using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Messenger.Transport.Sctp;

namespace Messenger.Transport.Tests.Interop;

/// <summary>
/// Runs one <see cref="SctpAssociation"/> over a real UDP socket on 127.0.0.1 (RFC 6951 encapsulation: the UDP payload
/// is the SCTP packet). Time comes from <see cref="TimeProvider.System"/>; the loop waits on the socket or the
/// association's next deadline, never on a fixed sleep.
/// </summary>
internal sealed class UdpAssociationDriver : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly TimeProvider _time = TimeProvider.System;
    private readonly long _start;
    private readonly byte[] _sendBuffer = new byte[65536];
    private readonly byte[] _receiveBuffer = new byte[65536];

    private readonly SctpAssociationOptions _options;
    private SctpAssociation? _association;
    private bool _wasOpen;

    /// <param name="options">The association's options.</param>
    /// <param name="listen">
    /// Like a listening SCTP socket: the association is created when the first packet arrives, with that packet's
    /// source port as the remote SCTP port (an active tsctp binds an ephemeral one).
    /// </param>
    public UdpAssociationDriver(SctpAssociationOptions options, bool listen = false)
    {
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _socket.ReceiveBufferSize = 4 * 1024 * 1024;
        _socket.SendBufferSize = 4 * 1024 * 1024;
        _start = _time.GetTimestamp();
        _options = options;
        if (!listen)
        {
            _association = new SctpAssociation(options);
        }
    }

    public SctpAssociation Association => _association ?? throw new InvalidOperationException("No packet has arrived yet.");

    public bool HasAssociation => _association is not null;

    public int LocalUdpPort => ((IPEndPoint)_socket.LocalEndPoint!).Port;

    public TimeSpan Now => _time.GetElapsedTime(_start);

    public long PacketsSent { get; private set; }

    public long PacketsReceived { get; private set; }

    /// <summary>The first few packets the association dropped, with its state then, for a failure message.</summary>
    public List<string> Dropped { get; } = [];

    /// <summary>Sends every packet to this UDP port on 127.0.0.1 and accepts packets only from it.</summary>
    public void ConnectTo(int remoteUdpPort) => _socket.Connect(new IPEndPoint(IPAddress.Loopback, remoteUdpPort));

    /// <summary>
    /// Drives the association until <paramref name="done"/> holds after a turn. <paramref name="beforeFlush"/> may
    /// queue data; <paramref name="onEvent"/> sees every event.
    /// </summary>
    public async Task RunUntilAsync(Func<bool> done, Action<SctpEvent> onEvent, Action<TimeSpan>? beforeFlush, CancellationToken cancellationToken)
    {
        Task<int>? receive = null;
        try
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var now = Now;
                if (_association is { } association)
                {
                    if (association.NextDeadline <= now)
                    {
                        association.HandleTimeout(now);
                    }

                    beforeFlush?.Invoke(now);
                    Flush(association, now);
                    while (association.TryPollEvent(out var e))
                    {
                        onEvent(e);
                    }
                }

                if (done())
                {
                    return;
                }

                receive ??= _socket.ReceiveAsync(_receiveBuffer, SocketFlags.None, cancellationToken).AsTask();
                if (!receive.IsCompleted)
                {
                    var deadline = _association?.NextDeadline ?? TimeSpan.MaxValue;
                    if (deadline == TimeSpan.MaxValue)
                    {
                        await Task.WhenAny(receive).ConfigureAwait(false);
                    }
                    else if (deadline > Now)
                    {
                        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                        var delay = Task.Delay(deadline - Now, _time, timer.Token);
                        await Task.WhenAny(receive, delay).ConfigureAwait(false);
                        await timer.CancelAsync().ConfigureAwait(false);
                    }
                }

                if (!receive.IsCompleted)
                {
                    continue;
                }

                var length = await ReceivedLength(receive).ConfigureAwait(false);
                receive = null;
                Deliver(length);

                // Take whatever else already arrived before running timers and sending again; once the association has
                // closed, later packets (a late window-update SACK, say) belong to no run and stay unread.
                while (_socket.Available > 0 && !HasEnded)
                {
                    Deliver(ReceiveNow());
                }
            }
        }
        finally
        {
            if (receive is not null)
            {
                // The pending receive ends with the socket; observe it so its exception is not unobserved.
                _ = receive.ContinueWith(static t => t.Exception, TaskScheduler.Default);
            }
        }
    }

    /// <summary>The association was open and is closed again.</summary>
    private bool HasEnded => _association is { State: SctpAssociationState.Closed } && _wasOpen;

    private void Deliver(int length)
    {
        if (length >= 12)
        {
            PacketsReceived++;
            _association ??= new SctpAssociation(_options with { RemotePort = BinaryPrimitives.ReadUInt16BigEndian(_receiveBuffer) });
            var dropped = _association.DroppedPackets;
            var state = _association.State;
            _association.HandlePacket(_receiveBuffer.AsSpan(0, length), Now);
            _wasOpen |= _association.State != SctpAssociationState.Closed;
            if (_association.DroppedPackets != dropped && Dropped.Count < 5)
            {
                Dropped.Add($"in {state}: {Convert.ToHexString(_receiveBuffer.AsSpan(0, Math.Min(length, 48)))}");
            }
        }
    }

    private static async Task<int> ReceivedLength(Task<int> receive)
    {
        try
        {
            return await receive.ConfigureAwait(false);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            // ICMP port unreachable for an earlier datagram (the peer was not up yet): that datagram is lost, SCTP retransmits.
            return 0;
        }
    }

    private int ReceiveNow()
    {
        try
        {
            return _socket.Receive(_receiveBuffer);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return 0;
        }
    }

    private void Flush(SctpAssociation association, TimeSpan now)
    {
        int n;
        while ((n = association.PollPacket(_sendBuffer, now)) > 0)
        {
            try
            {
                _socket.Send(_sendBuffer.AsSpan(0, n));
                PacketsSent++;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.NoBufferSpaceAvailable)
            {
                // Lost like any datagram; the association's timers recover it.
            }
        }
    }

    public void Dispose() => _socket.Dispose();
}
