using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using Messenger.Contracts.Channels;
using Messenger.TestSupport;
using Messenger.Transport.Ice;
using Messenger.Transport.Tests.DataChannels;
using Xunit.Abstractions;

namespace Messenger.Transport.Tests.PeerConnection;

using PeerConnection = Messenger.Transport.PeerConnection;

/// <summary>
/// Real UDP through a seeded impairment relay (delay, loss, a rate limit): the whole stack must deliver every byte
/// intact over a long, lossy link, and say how fast it went. The figures are for the note; no rate is asserted.
/// </summary>
[Collection(PeerConnectionCollection.Name)]
public class PeerConnectionImpairedLinkTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData(10, 0.0, 0)]
    [InlineData(25, 0.01, 0)]
    [InlineData(25, 0.02, 20_000_000)]
    public async Task Transfer_OverADelayedLossyLink_ArrivesIntact(int oneWayMs, double loss, long rate)
    {
        const int Total = 4 * 1024 * 1024;
        var impairment = new Impairment { Delay = TimeSpan.FromMilliseconds(oneWayMs), Loss = loss, Rate = rate };
        await using var a = new PeerConnection(new PeerConnectionOptions { Ice = new IceTransportOptions { BindAddress = IPAddress.Loopback } });
        await using var b = new PeerConnection(new PeerConnectionOptions { Ice = new IceTransportOptions { BindAddress = IPAddress.Loopback } });
        var offer = a.CreateOffer();
        a.SetLocalDescription(offer);
        b.SetRemoteDescription(offer with { Candidates = [], EndOfCandidates = false });
        var answer = b.CreateAnswer();
        b.SetLocalDescription(answer);
        await using var relay = new ImpairedUdpRelay(offer.Candidates[0].EndPoint!, answer.Candidates[0].EndPoint!, impairment, impairment, seed: oneWayMs);
        a.SetRemoteDescription(answer with { Candidates = [answer.Candidates[0] with { Address = relay.ForB.Address.ToString(), Port = relay.ForB.Port }] });
        b.AddRemoteCandidate(offer.Candidates[0] with { Address = relay.ForA.Address.ToString(), Port = relay.ForA.Port });
        b.AddRemoteCandidate(null);
        var (local, remote) = await DataChannelPair.OpenAsync(a, b, "far");

        var payload = RandomNumberGenerator.GetBytes(Total);
        var clock = Stopwatch.StartNew();
        var receiving = Task.Run(async () =>
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long bytes = 0;
            await foreach (var message in remote.ReceiveAllAsync().WithCancellation(new CancellationTokenSource(Wait).Token))
            {
                hash.AppendData(message.Data.Span);
                bytes += message.Data.Length;
                message.Release();
                if (bytes >= Total)
                {
                    break;
                }
            }

            return hash.GetHashAndReset();
        });
        local.BufferedAmountLowThreshold = 512 * 1024;
        for (var offset = 0; offset < Total; offset += 16 * 1024)
        {
            if (local.BufferedAmount > 2 * 1024 * 1024)
            {
                await local.WaitForBufferedAmountLowAsync().AsTask().WaitAsync(Wait);
            }

            local.Send(payload.AsSpan(offset, 16 * 1024));
        }

        Assert.Equal(SHA256.HashData(payload), await receiving.WaitAsync(Wait));
        if (loss > 0)
        {
            Assert.True(relay.Dropped > 0, "the relay dropped nothing: the link was not lossy");
        }

        output.WriteLine($"{impairment}: 4 MiB in {clock.Elapsed.TotalSeconds:F2} s = {Total / clock.Elapsed.TotalSeconds / 1e6:F2} MB/s; " +
            $"relay forwarded {relay.Forwarded}, dropped {relay.Dropped}; sender cwnd {a.SctpSenderStatistics.CongestionWindow}, rtx {a.SctpSenderStatistics.RetransmittedChunks}, T3 {a.SctpSenderStatistics.RetransmissionTimeouts}");
    }
}
