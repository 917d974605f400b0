using Messenger.TestSupport;
using System.Net;
using Messenger.Contracts.Channels;
using Messenger.Transport.Ice;
using Messenger.Transport.Sdp;
using Messenger.Transport.Tests.DataChannels;

namespace Messenger.Transport.Tests.PeerConnection;

using PeerConnection = Messenger.Transport.PeerConnection;

/// <summary>
/// A peer that vanishes without a goodbye (cable pulled, laptop lid closed): every packet between two connected
/// peers crosses a relay that is then cut. Consent freshness (RFC 7675) must turn both sides Disconnected, then
/// Failed with a clear reason, and their data channels must close so readers and senders are released.
/// </summary>
[Collection(PeerConnectionCollection.Name)]
public class PeerConnectionVanishTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    // Consent checks every 200 ms, Disconnected after 1 s without an answer, Failed after 3 s: the RFC 7675 timers
    // scaled down so the test takes seconds, on real UDP and real time.
    private static PeerConnectionOptions Options() => new()
    {
        Ice = new IceTransportOptions
        {
            BindAddress = IPAddress.Loopback,
            ConfigureAgent = o => o with
            {
                ConsentInterval = TimeSpan.FromMilliseconds(200),
                DisconnectedTimeout = TimeSpan.FromSeconds(1),
                ConsentTimeout = TimeSpan.FromSeconds(3),
            },
        },
    };

    [Fact]
    public async Task PeerVanishes_BothSidesTurnDisconnectedThenFailed_AndChannelsClose()
    {
        await using var a = new PeerConnection(Options());
        await using var b = new PeerConnection(Options());
        var statesA = Record(a);
        var statesB = Record(b);
        await using var relay = Negotiate(a, b);
        var (local, remote) = await DataChannelPair.OpenAsync(a, b, "chat");
        var forwardedWhileUp = relay.Forwarded;

        relay.Cut();
        var failedA = WaitForAsync(a, PeerConnectionState.Failed);
        var failedB = WaitForAsync(b, PeerConnectionState.Failed);
        await Task.WhenAll(failedA, failedB).WaitAsync(Wait);
        await DataChannelPair.WaitForStateAsync(local, DataChannelState.Closed);
        await DataChannelPair.WaitForStateAsync(remote, DataChannelState.Closed);

        Assert.True(forwardedWhileUp > 0, "the connection did not go through the relay");
        Assert.Equal([PeerConnectionState.Connecting, PeerConnectionState.Connected, PeerConnectionState.Disconnected, PeerConnectionState.Failed], Snapshot(statesA));
        Assert.Equal([PeerConnectionState.Connecting, PeerConnectionState.Connected, PeerConnectionState.Disconnected, PeerConnectionState.Failed], Snapshot(statesB));
        Assert.Equal(IceConnectionState.Failed, a.IceConnectionState);
        Assert.Contains("ICE failed", a.Error!.Message, StringComparison.Ordinal);
        Assert.Throws<DataChannelClosedException>(() => local.SendText("anyone there?"));
        await foreach (var _ in remote.ReceiveAllAsync().WithCancellation(new CancellationTokenSource(Wait).Token))
        {
            // A closed channel ends its reader instead of leaving it waiting forever.
        }
    }

    [Fact]
    public async Task CutForTenSecondsThenRestored_DisconnectedWithinSeconds_ThenConnected_AndTheTransferFinishesOnItsOwn()
    {
        // The default timers (Disconnected after 4 s of silence, consent expiry at 30 s): a 10 s outage is survived.
        var options = new PeerConnectionOptions { Ice = new IceTransportOptions { BindAddress = IPAddress.Loopback } };
        await using var a = new PeerConnection(options);
        await using var b = new PeerConnection(options);
        await using var relay = Negotiate(a, b);
        var (local, remote) = await DataChannelPair.OpenAsync(a, b, "bulk");
        const int Total = 8 * 1024 * 1024;
        var payload = System.Security.Cryptography.RandomNumberGenerator.GetBytes(Total);
        var firstMegabyte = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        local.BufferedAmountLowThreshold = 256 * 1024;
        var receiving = Task.Run(async () =>
        {
            var received = new MemoryStream();
            await foreach (var message in remote.ReceiveAllAsync().WithCancellation(new CancellationTokenSource(TimeSpan.FromMinutes(2)).Token))
            {
                received.Write(message.Data.Span);
                message.Release();
                if (received.Length >= 1 << 20)
                {
                    firstMegabyte.TrySetResult();
                }

                if (received.Length >= Total)
                {
                    return received.ToArray();
                }
            }

            return received.ToArray();
        });
        var sending = Task.Run(async () =>
        {
            for (var offset = 0; offset < Total; offset += 16384)
            {
                while (local.BufferedAmount > 1 << 20)
                {
                    await local.WaitForBufferedAmountLowAsync();
                }

                local.Send(payload.AsSpan(offset, 16384));
            }
        });
        await firstMegabyte.Task.WaitAsync(Wait);

        relay.Cut();
        var cut = System.Diagnostics.Stopwatch.StartNew();
        await Task.WhenAll(WaitForAsync(a, PeerConnectionState.Disconnected), WaitForAsync(b, PeerConnectionState.Disconnected)).WaitAsync(Wait);
        Assert.InRange(cut.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(6));
        await Task.Delay(TimeSpan.FromSeconds(10) - cut.Elapsed);
        relay.Restore();

        await Task.WhenAll(WaitForAsync(a, PeerConnectionState.Connected), WaitForAsync(b, PeerConnectionState.Connected)).WaitAsync(Wait);
        await sending.WaitAsync(TimeSpan.FromMinutes(2));
        Assert.Equal(payload, await receiving.WaitAsync(TimeSpan.FromMinutes(2)));
        Assert.Equal(PeerConnectionState.Connected, a.ConnectionState);
    }

    /// <summary>Offer and answer with every datagram between the two through a relay that can be cut.</summary>
    private static ImpairedUdpRelay Negotiate(PeerConnection a, PeerConnection b)
    {
        var offer = a.CreateOffer();
        a.SetLocalDescription(offer);
        b.SetRemoteDescription(offer with { Candidates = [], EndOfCandidates = false });
        var answer = b.CreateAnswer();
        b.SetLocalDescription(answer);
        var relay = new ImpairedUdpRelay(offer.Candidates[0].EndPoint!, answer.Candidates[0].EndPoint!);
        a.SetRemoteDescription(answer with { Candidates = [Via(answer.Candidates[0], relay.ForB)] });
        b.AddRemoteCandidate(Via(offer.Candidates[0], relay.ForA));
        b.AddRemoteCandidate(null);
        return relay;
    }

    private static IceCandidate Via(IceCandidate candidate, IPEndPoint relay) =>
        candidate with { Address = relay.Address.ToString(), Port = relay.Port };

    private static List<PeerConnectionState> Record(PeerConnection connection)
    {
        var states = new List<PeerConnectionState>();
        connection.ConnectionStateChanged += (_, state) =>
        {
            lock (states)
            {
                states.Add(state);
            }
        };
        return states;
    }

    private static PeerConnectionState[] Snapshot(List<PeerConnectionState> states)
    {
        lock (states)
        {
            return [.. states];
        }
    }

    private static Task WaitForAsync(PeerConnection connection, PeerConnectionState state)
    {
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.ConnectionStateChanged += (_, s) =>
        {
            if (s == state)
            {
                reached.TrySetResult();
            }
        };
        if (connection.ConnectionState == state)
        {
            reached.TrySetResult();
        }

        return reached.Task;
    }
}
