using Messenger.Contracts.Channels;

namespace Messenger.Transport;

/// <summary>Anchors the transport assembly; the transport implements <see cref="IDataChannel"/>.</summary>
public static class TransportAssembly
{
    /// <summary>The contract the transport's channels implement.</summary>
    public static Type ChannelContract => typeof(IDataChannel);
}
