using Messenger.Transport.Sctp;

namespace Messenger.Transport.Tests.Simulation;

/// <summary>One association in the simulation, with everything it reported.</summary>
public sealed class SimulatedPeer(string name, SctpAssociationOptions options)
{
    public string Name { get; } = name;

    public SctpAssociation Association { get; } = new(options);

    public List<SctpEvent> Events { get; } = [];

    public Dictionary<ushort, List<byte[]>> Received { get; } = [];

    public bool Connected => Events.Exists(e => e.Kind == SctpEventKind.Connected);

    public bool Closed => Events.Exists(e => e.Kind is SctpEventKind.Closed or SctpEventKind.Aborted);

    /// <summary>For each incoming stream reset, how many messages of that stream had arrived when it happened.</summary>
    public Dictionary<ushort, int> ResetSeenAfter { get; } = [];

    public List<uint> ReceivedPpids { get; } = [];

    /// <summary>Sees every received message, kept or not.</summary>
    public Action<byte[]>? OnMessage { get; set; }

    public int ReceivedCount { get; private set; }

    public long ReceivedBytes { get; private set; }

    /// <summary>When false, received messages are counted but not kept (throughput runs).</summary>
    public bool KeepMessages { get; set; } = true;

    /// <summary>When false the application "does not read": nothing is reported consumed, so the window closes.</summary>
    public bool ConsumeAtOnce { get; set; } = true;

    /// <summary>A silent peer swallows everything, as if it vanished.</summary>
    public bool Silent { get; set; }

    internal void Record(SctpEvent e)
    {
        if (e.Kind == SctpEventKind.MessageReceived)
        {
            var data = e.Message.ToArray();
            e.Message.Release();
            if (ConsumeAtOnce)
            {
                Association.MarkConsumed(data.Length);
            }

            ReceivedCount++;
            OnMessage?.Invoke(data);
            if (KeepMessages)
            {
                ReceivedPpids.Add(e.PayloadProtocolId);
            }

            ReceivedBytes += data.Length;
            if (KeepMessages)
            {
                if (!Received.TryGetValue(e.StreamId, out var list))
                {
                    list = [];
                    Received[e.StreamId] = list;
                }

                list.Add(data);
            }

            return;
        }

        if (e.Kind == SctpEventKind.IncomingStreamsReset)
        {
            foreach (var id in e.Streams!)
            {
                ResetSeenAfter[id] = Received.TryGetValue(id, out var got) ? got.Count : 0;
            }
        }

        if (e.Kind != SctpEventKind.BufferedAmountDecreased)
        {
            Events.Add(e);
        }
    }
}
