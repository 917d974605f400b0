using System.Net;
using System.Net.Sockets;
using Messenger.Transport.Dtls;

namespace Messenger.Transport.Tests.Dtls;

/// <summary>Two UDP sockets on 127.0.0.1 connected to each other, and handshakes over them.</summary>
internal static class DtlsLoopback
{
    public static readonly DtlsCertificate ClientCertificate = DtlsCertificate.Generate();
    public static readonly DtlsCertificate ServerCertificate = DtlsCertificate.Generate();

    public static (UdpDatagramTransport Client, UdpDatagramTransport Server) CreateUdpPair()
    {
        var clientSocket = Bind();
        var serverSocket = Bind();
        return (
            new UdpDatagramTransport(clientSocket, (IPEndPoint)serverSocket.LocalEndPoint!),
            new UdpDatagramTransport(serverSocket, (IPEndPoint)clientSocket.LocalEndPoint!));
    }

    public static Socket Bind()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);

        // Big buffers, as production will use: a burst of records must not overflow the kernel queue.
        socket.ReceiveBufferSize = 4 * 1024 * 1024;
        socket.SendBufferSize = 4 * 1024 * 1024;
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return socket;
    }

    public static DtlsConnectionOptions Options(DtlsRole role, DtlsCertificate? certificate = null, DtlsFingerprint? remote = null) => new()
    {
        Role = role,
        Certificate = certificate ?? (role == DtlsRole.Client ? ClientCertificate : ServerCertificate),
        RemoteFingerprint = remote ?? (role == DtlsRole.Client ? ServerCertificate : ClientCertificate).Fingerprint,
        HandshakeTimeout = TimeSpan.FromSeconds(10),
    };

    public static async Task<(DtlsConnection Client, DtlsConnection Server)> ConnectAsync(
        IDatagramTransport clientTransport, IDatagramTransport serverTransport, DtlsConnectionOptions? client = null, DtlsConnectionOptions? server = null)
    {
        var serverTask = DtlsConnection.HandshakeAsync(serverTransport, server ?? Options(DtlsRole.Server));
        var clientTask = DtlsConnection.HandshakeAsync(clientTransport, client ?? Options(DtlsRole.Client));
        await Task.WhenAll(serverTask, clientTask).WaitAsync(TimeSpan.FromSeconds(20));
        return (clientTask.Result, serverTask.Result);
    }
}
