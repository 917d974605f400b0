using System.Net;
using System.Net.Sockets;
using Messenger.Transport.Stun;
using Microsoft.Extensions.Time.Testing;

namespace Messenger.Transport.Tests.Stun;

public class StunClientTests
{
    [Fact]
    public async Task SendRequestAsync_NoAnswer_RetransmitsOnRfc8489ScheduleThenTimesOut()
    {
        var time = new FakeTimeProvider();
        var sentAt = new List<TimeSpan>();
        var sent = new SemaphoreSlim(0);
        var start = time.GetUtcNow();
        var client = new StunClient(
            (_, _) =>
            {
                sentAt.Add(time.GetUtcNow() - start);
                sent.Release();
            },
            new StunClientOptions { TimeProvider = time });
        var request = new StunMessage(StunClass.Request, StunMethod.Binding, StunTransactionId.NewId());

        var pending = client.SendRequestAsync(request, new IPEndPoint(IPAddress.Loopback, 3478));

        // Advance the clock only once the client has sent (its timer is armed before each send).
        foreach (var gap in new[] { 500, 1000, 2000, 4000, 8000, 16000 })
        {
            Assert.True(await sent.WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.False(pending.IsCompleted);
            time.Advance(TimeSpan.FromMilliseconds(gap - 1));
            Assert.Equal(0, sent.CurrentCount);
            time.Advance(TimeSpan.FromMilliseconds(1));
        }

        Assert.True(await sent.WaitAsync(TimeSpan.FromSeconds(10)));
        time.Advance(TimeSpan.FromMilliseconds(7999));
        Assert.False(pending.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(1));

        // RFC 8489 §6.2.1: with RTO 500 ms, sends at 0, 500, 1500, 3500, 7500, 15500, 31500 ms; gives up at 39500 ms.
        await Assert.ThrowsAsync<StunTimeoutException>(() => pending.WaitAsync(TimeSpan.FromSeconds(10)));
        var expected = new[] { 0, 500, 1500, 3500, 7500, 15500, 31500 }.Select(ms => TimeSpan.FromMilliseconds(ms));
        Assert.Equal(expected, sentAt);
    }

    [Fact]
    public async Task HandleResponse_MatchingTransaction_CompletesAndStrayIsIgnored()
    {
        var time = new FakeTimeProvider();
        StunMessage? sent = null;
        var client = new StunClient((bytes, to) => sent = StunMessage.TryParse(bytes, out var message, out var unused) ? message : null, new StunClientOptions { TimeProvider = time });
        var request = new StunMessage(StunClass.Request, StunMethod.Binding, StunTransactionId.NewId());
        var pending = client.SendRequestAsync(request, new IPEndPoint(IPAddress.Loopback, 3478));

        Assert.NotNull(sent);
        Assert.True(sent.HasFingerprint);
        Assert.False(client.HandleResponse(new StunMessage(StunClass.SuccessResponse, StunMethod.Binding, StunTransactionId.NewId())));
        var response = new StunMessage(StunClass.SuccessResponse, StunMethod.Binding, request.TransactionId)
            .AddXorMappedAddress(new IPEndPoint(IPAddress.Parse("203.0.113.5"), 4242));
        Assert.True(client.HandleResponse(response));
        var answered = await pending.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(new IPEndPoint(IPAddress.Parse("203.0.113.5"), 4242), answered.XorMappedAddress);
    }

    [Fact]
    public async Task QueryMappedAddressAsync_LoopbackResponder_ReturnsClientsOwnEndpoint()
    {
        await using var responder = new LoopbackStunResponder(dropFirst: 0);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));

        var mapped = await StunClient.QueryMappedAddressAsync(socket, responder.EndPoint).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(socket.LocalEndPoint, mapped);
        Assert.True(responder.RequestsSeen >= 1);
    }

    [Fact]
    public async Task QueryMappedAddressAsync_ResponderDropsFirstTwoRequests_SucceedsByRetransmission()
    {
        await using var responder = new LoopbackStunResponder(dropFirst: 2);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var options = new StunClientOptions { InitialRto = TimeSpan.FromMilliseconds(50) };

        var mapped = await StunClient.QueryMappedAddressAsync(socket, responder.EndPoint, options).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(socket.LocalEndPoint, mapped);

        // At least the two dropped and the answered one; a slow machine may have sent another meanwhile.
        Assert.True(responder.RequestsSeen >= 3, $"requests seen {responder.RequestsSeen}");
    }

    [Fact]
    public async Task QueryMappedAddressAsync_ErrorResponse_ThrowsWithCode()
    {
        await using var responder = new LoopbackStunResponder(dropFirst: 0, errorCode: 400);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));

        var error = await Assert.ThrowsAsync<StunErrorResponseException>(
            () => StunClient.QueryMappedAddressAsync(socket, responder.EndPoint).WaitAsync(TimeSpan.FromSeconds(10)));

        Assert.Equal(400, error.Error?.Code);
    }

    /// <summary>A tiny Binding responder on 127.0.0.1: answers with the requester's address, or drops or errors as told.</summary>
    private sealed class LoopbackStunResponder : IAsyncDisposable
    {
        private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private readonly int _dropFirst;
        private readonly int? _errorCode;
        private int _seen;

        public LoopbackStunResponder(int dropFirst, int? errorCode = null)
        {
            _dropFirst = dropFirst;
            _errorCode = errorCode;
            _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _loop = RunAsync();
        }

        public IPEndPoint EndPoint => (IPEndPoint)_socket.LocalEndPoint!;

        public int RequestsSeen => Volatile.Read(ref _seen);

        private async Task RunAsync()
        {
            var buffer = new byte[1500];
            while (!_stop.IsCancellationRequested)
            {
                SocketReceiveFromResult received;
                try
                {
                    received = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                if (!StunMessage.TryParse(buffer.AsSpan(0, received.ReceivedBytes), out var request, out _) || request.Class != StunClass.Request)
                {
                    continue;
                }

                if (Interlocked.Increment(ref _seen) <= _dropFirst)
                {
                    continue;
                }

                var from = (IPEndPoint)received.RemoteEndPoint;
                var response = _errorCode is { } code
                    ? new StunMessage(StunClass.ErrorResponse, StunMethod.Binding, request.TransactionId).AddErrorCode(code, "Bad Request")
                    : new StunMessage(StunClass.SuccessResponse, StunMethod.Binding, request.TransactionId).AddXorMappedAddress(from);
                await _socket.SendToAsync(response.Encode(fingerprint: true), SocketFlags.None, from);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _loop;
            _socket.Dispose();
            _stop.Dispose();
        }
    }
}
