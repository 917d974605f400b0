using System.Net;
using Messenger.Transport.Stun;

namespace Messenger.Transport.Ice;

/// <summary>Settings of an <see cref="IceTransport"/>: where its one UDP socket binds and how the agent behaves.</summary>
public sealed record IceTransportOptions
{
    /// <summary>The socket's address; <see cref="IPAddress.Any"/> offers every interface's address as a host candidate.</summary>
    public IPAddress BindAddress { get; init; } = IPAddress.Any;

    /// <summary>Offer loopback addresses when bound to Any (RFC 8445 §5.1.1.1 says not to; off by default).</summary>
    public bool IncludeLoopback { get; init; }

    /// <summary>A STUN server for a server-reflexive candidate (RFC 8445 §5.1.1.2); none by default.</summary>
    public IPEndPoint? StunServer { get; init; }

    public StunClientOptions StunClient { get; init; } = new();

    /// <summary>Agent timing (Ta, RTO, consent, timeouts); role and credentials come from the transport.</summary>
    public Func<IceAgentOptions, IceAgentOptions> ConfigureAgent { get; init; } = static o => o;

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Kernel socket buffers; large so a burst of DTLS records does not overflow.</summary>
    public int SocketBufferSize { get; init; } = 4 * 1024 * 1024;

    /// <summary>
    /// Send the datagrams one loop turn produced with UDP GSO where Linux offers it; the datagrams on the wire are the
    /// same. Off, or refused by the kernel: one send per datagram.
    /// </summary>
    public bool UdpSegmentationOffload { get; init; } = true;

    /// <summary>
    /// Receive with recvmmsg and UDP GRO where 64-bit Linux offers them (a burst in a syscall or two). Off, or refused:
    /// one receive per datagram, the portable path every platform takes.
    /// </summary>
    public bool BatchedReceive { get; init; } = true;
}
