using System.Net;
using System.Net.Sockets;

namespace Messenger.Transport.Tests.PeerConnection;

/// <summary>
/// Two UDP sockets on 127.0.0.1 standing between peers A and B: A is told B lives at <see cref="ForB"/>, B that A
/// lives at <see cref="ForA"/>; neither learns the other's real address, so every packet crosses the relay.
/// <see cref="Cut"/> drops everything from then on: to both peers, the other has vanished without a word.
/// </summary>
internal sealed class UdpRelay : IAsyncDisposable
{
    private readonly Socket _forA = Bind();
    private readonly Socket _forB = Bind();
    private readonly IPEndPoint _realA;
    private readonly IPEndPoint _realB;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _aToB;
    private readonly Task _bToA;
    private volatile bool _cut;

    public UdpRelay(IPEndPoint realA, IPEndPoint realB)
    {
        _realA = realA;
        _realB = realB;
        _aToB = ForwardAsync(_forB, _forA, _realB); // A sends to "B" (our ForB socket); it leaves from ForA to real B
        _bToA = ForwardAsync(_forA, _forB, _realA);
    }

    /// <summary>Where B should believe A is.</summary>
    public IPEndPoint ForA => (IPEndPoint)_forA.LocalEndPoint!;

    /// <summary>Where A should believe B is.</summary>
    public IPEndPoint ForB => (IPEndPoint)_forB.LocalEndPoint!;

    public long Forwarded;

    public void Cut() => _cut = true;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _forA.Dispose();
        _forB.Dispose();
        await Task.WhenAll(_aToB, _bToA).ContinueWith(static _ => { }, TaskScheduler.Default);
        _stop.Dispose();
    }

    private static Socket Bind()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return socket;
    }

    private async Task ForwardAsync(Socket from, Socket via, IPEndPoint to)
    {
        var buffer = new byte[65536];
        while (!_stop.IsCancellationRequested)
        {
            var received = await from.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0), _stop.Token);
            if (_cut)
            {
                continue;
            }

            Interlocked.Increment(ref Forwarded);
            await via.SendToAsync(buffer.AsMemory(0, received.ReceivedBytes), to, _stop.Token);
        }
    }
}
