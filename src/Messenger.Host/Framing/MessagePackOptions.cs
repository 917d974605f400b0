using MessagePack;
using MessagePack.Resolvers;

namespace Messenger.Host.Framing;

/// <summary>The MessagePack options for everything that comes from the peer.</summary>
internal static class UntrustedMessagePack
{
    /// <summary>Standard resolver with <see cref="MessagePackSecurity.UntrustedData"/>: hash-collision-safe maps, depth limits.</summary>
    public static MessagePackSerializerOptions Options { get; } = MessagePackSerializerOptions.Standard
        .WithResolver(StandardResolver.Instance)
        .WithSecurity(MessagePackSecurity.UntrustedData.WithMaximumObjectGraphDepth(MessagePackShape.MaxDepth));
}
