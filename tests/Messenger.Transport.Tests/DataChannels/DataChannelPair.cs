using Messenger.Contracts.Channels;
using Messenger.Transport.DataChannels;
using Messenger.Transport.Sctp;

namespace Messenger.Transport.Tests.DataChannels;

/// <summary>Two connections wired back to back in memory, optionally dropping packets with a seeded Random.</summary>
public sealed class DataChannelPair : IAsyncDisposable
{
    public static readonly SctpAssociationOptions FastTimers = new()
    {
        RtoMin = TimeSpan.FromMilliseconds(50),
        RtoInitial = TimeSpan.FromMilliseconds(200),
        DelayedAckTimeout = TimeSpan.FromMilliseconds(20),
    };

    public DataChannelPair(double loss = 0, int seed = 1, int remoteMaxMessageSize = 65536, SctpAssociationOptions? sctp = null)
    {
        var sctpOptions = sctp ?? FastTimers;
        var dropAToB = new Random(seed);
        var dropBToA = new Random(seed + 1);
        DataChannelConnection? a = null;
        DataChannelConnection? b = null;
        a = new DataChannelConnection(
            new DataChannelConnectionOptions { Sctp = sctpOptions, IsDtlsClient = true, RemoteMaxMessageSize = remoteMaxMessageSize },
            packet =>
            {
                // Each sink runs on its own connection's loop, so each Random has one user.
                if (dropAToB.NextDouble() >= loss)
                {
                    lock (_held)
                    {
                        if (_paused)
                        {
                            _held.Enqueue(packet.ToArray());
                            return;
                        }
                    }

                    b!.ReceivePacket(packet);
                }
            });
        b = new DataChannelConnection(
            new DataChannelConnectionOptions { Sctp = sctpOptions, IsDtlsClient = false, RemoteMaxMessageSize = remoteMaxMessageSize },
            packet =>
            {
                if (dropBToA.NextDouble() >= loss)
                {
                    a.ReceivePacket(packet);
                }
            });
        A = a;
        B = b;
    }

    private readonly Queue<byte[]> _held = new();
    private bool _paused;

    public DataChannelConnection A { get; }

    /// <summary>Holds packets from A to B until <see cref="ResumeAToB"/>, as a stalled path would.</summary>
    public void PauseAToB()
    {
        lock (_held)
        {
            _paused = true;
        }
    }

    public void ResumeAToB()
    {
        lock (_held)
        {
            _paused = false;
            while (_held.TryDequeue(out var packet))
            {
                B.ReceivePacket(packet);
            }
        }
    }

    public DataChannelConnection B { get; }

    public async Task StartAsync()
    {
        A.Start();
        B.Start();
        await Task.WhenAll(A.Connected, B.Connected).WaitAsync(TimeSpan.FromSeconds(20));
    }

    /// <summary>
    /// <paramref name="offerer"/> opens a channel, <paramref name="answerer"/> accepts it (the transport's own set-up,
    /// <see cref="Messenger.Transport.PeerConnection.OpenDataChannelAsync"/>), both Open within 20 s.
    /// </summary>
    public static async Task<(IDataChannel Local, IDataChannel Remote)> OpenAsync(Messenger.Transport.PeerConnection offerer, Messenger.Transport.PeerConnection answerer, string label)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var accepted = answerer.AcceptDataChannelAsync(limit.Token);
        var local = await offerer.OpenDataChannelAsync(label, limit.Token);
        return (local, await accepted);
    }

    public static async Task WaitForStateAsync(IDataChannel channel, DataChannelState state)
    {
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        channel.StateChanged += (_, s) =>
        {
            if (s == state)
            {
                reached.TrySetResult();
            }
        };
        if (channel.State == state)
        {
            return;
        }

        await reached.Task.WaitAsync(TimeSpan.FromSeconds(20));
    }

    public async ValueTask DisposeAsync()
    {
        await A.DisposeAsync();
        await B.DisposeAsync();
    }
}
