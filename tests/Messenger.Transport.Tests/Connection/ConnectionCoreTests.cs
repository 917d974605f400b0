using System.Net;
using Messenger.Transport.Connection;
using Messenger.Transport.Dtls;
using Messenger.Transport.Ice;
using Messenger.Transport.Stun;

namespace Messenger.Transport.Tests.Connection;

/// <summary>The connection core without a socket: which datagrams reach DTLS, and when.</summary>
public class ConnectionCoreTests
{
    private const string LocalUfrag = "ufrB";
    private const string LocalPwd = "passwordB-0123456789abcdef";
    private static readonly IPEndPoint Local = new(IPAddress.Loopback, 5000);
    private static readonly IPEndPoint Peer = new(IPAddress.Loopback, 6000);
    private static readonly IPEndPoint Stranger = new(IPAddress.Loopback, 7000);

    [Fact]
    public void DtlsFromAPeerWhoseRequestAuthenticated_IsKeptUntilTheHandshakeStarts_AStrangersIsDropped()
    {
        var socket = new RecordingSocket();
        using var core = new ConnectionCore(socket, new NoEvents());
        core.StartIce(new IceAgentOptions { Controlling = false, LocalUfrag = LocalUfrag, LocalPwd = LocalPwd }, [Host()], TimeSpan.Zero);
        core.WithAgent((agent, now) => agent.SetRemoteCredentials("ufrA", "passwordA-0123456789abcdef", now), TimeSpan.Zero);

        // The peer's check of us (its ClientHello follows the moment our answer reaches it), then its ClientHello,
        // before our own check of it has succeeded — and a stranger's datagram that looks like DTLS.
        Feed(core, AuthenticatedRequest(), Peer);
        Assert.Contains(socket.Sent, s => s.Destination.Equals(Peer)); // our Binding response
        Feed(core, [22, 254, 253, 0, 0, 0xAA], Peer);
        Feed(core, [22, 254, 253, 0, 0, 0xBB], Stranger);

        using var path = new QueuedDatagramTransport((DatagramSender)(_ => { }));
        core.BeginHandshake(path);
        var buffer = new byte[64];
        var length = path.Receive(buffer, TimeSpan.Zero);
        Assert.Equal(new byte[] { 22, 254, 253, 0, 0, 0xAA }, buffer[..length]);
        Assert.Equal(-1, path.Receive(buffer, TimeSpan.Zero)); // the stranger's is gone

        // From now on handshake datagrams flow straight through.
        Feed(core, [22, 254, 253, 0, 0, 0xCC], Peer);
        Assert.Equal(0xCC, buffer[path.Receive(buffer, TimeSpan.Zero) - 1]);
    }

    [Fact]
    public void DtlsBeforeAnyAuthenticatedRequest_IsDropped()
    {
        var socket = new RecordingSocket();
        using var core = new ConnectionCore(socket, new NoEvents());
        core.StartIce(new IceAgentOptions { Controlling = false, LocalUfrag = LocalUfrag, LocalPwd = LocalPwd }, [Host()], TimeSpan.Zero);
        core.WithAgent((agent, now) => agent.SetRemoteCredentials("ufrA", "passwordA-0123456789abcdef", now), TimeSpan.Zero);

        Feed(core, [22, 254, 253, 0, 0, 0xAA], Peer); // no check from it yet: could be anyone
        Feed(core, Unauthenticated(), Peer); // a request with the wrong password proves nothing either

        using var path = new QueuedDatagramTransport((DatagramSender)(_ => { }));
        core.BeginHandshake(path);
        Assert.Equal(-1, path.Receive(new byte[64], TimeSpan.Zero));
    }

    private static void Feed(ConnectionCore core, byte[] datagram, IPEndPoint source) =>
        core.HandleDatagram(datagram, RecordingSocket.Raw(source), TimeSpan.FromMilliseconds(1));

    private static IceCandidate Host() => new()
    {
        Foundation = "1",
        Priority = IceCandidate.ComputePriority(IceCandidateType.Host, 65535),
        Address = Local.Address.ToString(),
        Port = Local.Port,
        Type = IceCandidateType.Host,
    };

    private static byte[] AuthenticatedRequest() =>
        new StunMessage(StunClass.Request, StunMethod.Binding, StunTransactionId.NewId())
            .AddUsername($"{LocalUfrag}:ufrA")
            .AddPriority(IceCandidate.ComputePriority(IceCandidateType.PeerReflexive, 65535))
            .AddIceControlling(42)
            .Encode(StunCredentials.ShortTermKey(LocalPwd), fingerprint: true);

    private static byte[] Unauthenticated() =>
        new StunMessage(StunClass.Request, StunMethod.Binding, StunTransactionId.NewId())
            .AddUsername($"{LocalUfrag}:ufrA")
            .AddPriority(1)
            .AddIceControlling(42)
            .Encode(StunCredentials.ShortTermKey("not-the-password-at-all"), fingerprint: true);

    private sealed class NoEvents : IConnectionEvents
    {
        public void OnIceStateChanged(IceConnectionState state)
        {
        }

        public void OnDtlsClosed(DtlsException? error)
        {
        }

        public void OnStunResponse(StunMessage message)
        {
        }
    }

    /// <summary>A socket that keeps what the core sends.</summary>
    private sealed class RecordingSocket : IConnectionSocket
    {
        private readonly byte[] _buffer = new byte[65536];

        public List<(byte[] Datagram, IPEndPoint Destination)> Sent { get; } = [];

        public IPEndPoint? Remote { get; private set; }

        public static byte[] Raw(IPEndPoint endPoint)
        {
            var address = endPoint.Serialize();
            return address.Buffer.Span[..address.Size].ToArray();
        }

        public Span<byte> Reserve(int maxLength) => _buffer.AsSpan(0, maxLength);

        public void Commit(int length) => Sent.Add((_buffer[..length], Remote!));

        public void SendTo(ReadOnlySpan<byte> datagram, IPEndPoint destination) => Sent.Add((datagram.ToArray(), destination));

        public void SetRemote(IPEndPoint remote) => Remote = remote;

        public byte[] Encode(IPEndPoint endPoint) => Raw(endPoint);

        public IPEndPoint Decode(ReadOnlySpan<byte> address)
        {
            var socketAddress = new System.Net.SocketAddress(System.Net.Sockets.AddressFamily.InterNetwork, address.Length);
            address.CopyTo(socketAddress.Buffer.Span);
            return (IPEndPoint)new IPEndPoint(IPAddress.Any, 0).Create(socketAddress);
        }
    }
}
