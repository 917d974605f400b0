using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Messenger.Transport.Stun;

/// <summary>Sends one datagram to <paramref name="destination"/>; the client owns no socket.</summary>
public delegate void StunDatagramSender(ReadOnlySpan<byte> datagram, IPEndPoint destination);

/// <summary>
/// The client side of STUN transactions over UDP (RFC 8489 §6.2.1): sends a request through a delegate,
/// retransmits it on the RTO schedule with an injected clock, and completes when the owner hands it the
/// response. The owner (a socket loop or the ICE agent's demultiplexer) calls <see cref="HandleResponse"/>.
/// </summary>
public sealed class StunClient
{
    private readonly StunDatagramSender _send;
    private readonly StunClientOptions _options;
    private readonly ConcurrentDictionary<StunTransactionId, TaskCompletionSource<StunMessage>> _pending = new();

    public StunClient(StunDatagramSender send, StunClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(send);
        _send = send;
        _options = options ?? new StunClientOptions();
    }

    /// <summary>Sends <paramref name="request"/> (with MESSAGE-INTEGRITY when a key is given, and FINGERPRINT) until a response arrives.</summary>
    /// <exception cref="StunTimeoutException">No response after Rc sends and the final Rm × RTO wait.</exception>
    public async Task<StunMessage> SendRequestAsync(StunMessage request, IPEndPoint destination, ReadOnlyMemory<byte> integrityKey = default, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(destination);
        if (request.Class != StunClass.Request)
        {
            throw new ArgumentException("Only requests are retransmitted.", nameof(request));
        }

        var datagram = request.Encode(integrityKey.Span, fingerprint: true);
        var response = new TaskCompletionSource<StunMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_pending.TryAdd(request.TransactionId, response))
        {
            throw new InvalidOperationException("A transaction with this id is already outstanding.");
        }

        try
        {
            var wait = _options.InitialRto;
            for (var transmission = 1; transmission <= _options.MaxTransmissions; transmission++)
            {
                // RFC 8489 §6.2.1: RTO doubles after each send; after the last, wait Rm × the initial RTO.
                // The timer starts before the send, so the wait is measured from the transmission.
                var timeout = transmission == _options.MaxTransmissions ? _options.InitialRto * _options.FinalWaitMultiplier : wait;
                var answered = response.Task.WaitAsync(timeout, _options.TimeProvider, cancellationToken);
                _send(datagram, destination);
                try
                {
                    return await answered.ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    wait *= 2;
                }
            }

            throw new StunTimeoutException($"No STUN response from {destination} after {_options.MaxTransmissions} transmissions.");
        }
        finally
        {
            _pending.TryRemove(request.TransactionId, out _);
        }
    }

    /// <summary>Completes the transaction the response belongs to; false when it matches none (late or stray).</summary>
    public bool HandleResponse(StunMessage response)
    {
        ArgumentNullException.ThrowIfNull(response);
        if (response.Class is not (StunClass.SuccessResponse or StunClass.ErrorResponse))
        {
            return false;
        }

        return _pending.TryGetValue(response.TransactionId, out var pending) && pending.TrySetResult(response);
    }

    /// <summary>Sends a Binding request and returns the server-reflexive address it reports (RFC 8489 §3).</summary>
    /// <exception cref="StunErrorResponseException">The server answered with an error.</exception>
    public async Task<IPEndPoint> GetMappedAddressAsync(IPEndPoint server, CancellationToken cancellationToken = default)
    {
        var request = new StunMessage(StunClass.Request, StunMethod.Binding, StunTransactionId.NewId());
        var response = await SendRequestAsync(request, server, default, cancellationToken).ConfigureAwait(false);
        if (response.Class == StunClass.ErrorResponse)
        {
            throw new StunErrorResponseException(response.ErrorCode);
        }

        return response.XorMappedAddress ?? response.MappedAddress
            ?? throw new StunErrorResponseException("The Binding response carries no XOR-MAPPED-ADDRESS.");
    }

    /// <summary>
    /// Asks <paramref name="server"/> for the mapped address of a bound UDP <paramref name="socket"/>, reading the
    /// socket until the answer arrives. For use before ICE owns the socket; afterwards the agent feeds responses.
    /// </summary>
    public static async Task<IPEndPoint> QueryMappedAddressAsync(Socket socket, IPEndPoint server, StunClientOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(socket);
        var client = new StunClient((datagram, destination) => socket.SendTo(datagram, SocketFlags.None, destination), options);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var receiving = ReceiveResponsesAsync(socket, client, stop.Token);
        try
        {
            return await client.GetMappedAddressAsync(server, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await receiving.ConfigureAwait(false);
        }
    }

    private static async Task ReceiveResponsesAsync(Socket socket, StunClient client, CancellationToken cancellationToken)
    {
        var buffer = new byte[1500];
        var any = new IPEndPoint(socket.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, any, cancellationToken).ConfigureAwait(false);
                if (StunMessage.TryParse(buffer.AsSpan(0, received.ReceivedBytes), out var message, out _))
                {
                    client.HandleResponse(message);
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionRefused)
            {
                // An ICMP port-unreachable from an earlier send surfaces here; the retransmission timer handles it.
            }
        }
    }
}
