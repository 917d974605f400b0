using System.Net;
using Messenger.Contracts.Channels;
using Messenger.Transport.Ice;

namespace Messenger.Transport;

/// <summary>
/// Runs the first connection of a process where nobody waits for it. A fresh .NET process spends most of its first
/// connection setup loading types, running static constructors and compiling what ReadyToRun could not precompile
/// (generic instantiations across assemblies, BouncyCastle's handshake, which is loaded cold): measured on two
/// processes over loopback, 98–118 ms offer → open, of which the DTLS handshake alone took 36–45 ms, against 6–9 ms
/// once warm. An application that will connect soon (the CLI while it reaches the signaling relay and waits for its
/// peer) starts this first: two connections in this process, over the loopback interface, do every step once —
/// certificates, SDP, ICE checks, the DTLS handshake in both roles, SCTP, DCEP, a message each way — and close.
/// </summary>
public static class TransportWarmUp
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(5);
    private static readonly Lazy<Task<bool>> Once = new(() => Task.Run(RunOnceAsync));

    /// <summary>
    /// Warms up once per process; later calls return the same task. Completes with false when the warm-up could
    /// not run (no loopback interface, say) or took longer than 5 s; it never throws, and costs nothing afterwards.
    /// </summary>
    public static Task<bool> RunAsync() => Once.Value;

    /// <summary>
    /// The warm-up if this process started one, else a completed task; it never starts one. A process that is about to
    /// exit awaits it (at most the 5 s limit, usually a few hundred milliseconds): exiting while its connections are
    /// still in native code (sockets, the platform's crypto) crashed the process now and then (SIGSEGV at exit).
    /// </summary>
    public static Task WhenStartedAsync() => Once.IsValueCreated ? Once.Value : Task.CompletedTask;

    private static async Task<bool> RunOnceAsync()
    {
        try
        {
            var options = new PeerConnectionOptions { Ice = new IceTransportOptions { BindAddress = IPAddress.Loopback, IncludeLoopback = true } };
            using var limit = new CancellationTokenSource(Limit);
            await using var pair = await InProcessPair.ConnectAsync(options, options, "warm-up", limit.Token).ConfigureAwait(false);
            await ExchangeAsync(pair.OffererChannel, pair.AnswererChannel).ConfigureAwait(false);
            await ExchangeAsync(pair.AnswererChannel, pair.OffererChannel).ConfigureAwait(false);
            return true; // both closed (SCTP shutdown, close_notify) before this returns: that path is warm too
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Best effort, whatever went wrong: the connection that matters meets the same fault and reports it.
            return false;
        }
    }

    private static async Task ExchangeAsync(IDataChannel from, IDataChannel to)
    {
        using var stop = new CancellationTokenSource(Limit);
        var reading = ReadTwoAsync(to, stop.Token);
        from.SendPooled(System.Buffers.ArrayPool<byte>.Shared.Rent(64), 64);
        from.SendText("warm-up");
        await reading.ConfigureAwait(false);
    }

    private static async Task ReadTwoAsync(IDataChannel channel, CancellationToken cancellationToken)
    {
        var seen = 0;
        await foreach (var message in channel.ReceiveAllAsync(cancellationToken).ConfigureAwait(false))
        {
            message.Release();
            if (++seen == 2)
            {
                return;
            }
        }
    }
}
