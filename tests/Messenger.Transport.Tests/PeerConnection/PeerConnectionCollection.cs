namespace Messenger.Transport.Tests.PeerConnection;

/// <summary>
/// Whole connections over real UDP with real timers, run alone after the parallel tests: a 64 MiB transfer saturates
/// both cores and would stretch other classes' retransmission timers (and theirs ours).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PeerConnectionCollection
{
    public const string Name = "Loopback peer connections";
}
