namespace Messenger.Interop.Tests;

/// <summary>
/// Interop runs one at a time: each moves 2 × 64 MiB through a real peer that wants a core of its own, and
/// parallel runs would stretch each other's retransmission timers.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class InteropCollection
{
    public const string Name = "Interop with real WebRTC peers";
}
