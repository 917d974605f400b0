using MessagePack;
using Messenger.Contracts.Framing;

namespace Messenger.Plugins.FileTransfer.Protocol;

/// <summary>Serialises control frames, and reads untrusted ones into typed bodies or a <see cref="FrameFormatException"/>.</summary>
public static class ControlFrameCodec
{
    private static readonly MessagePackSerializerOptions Untrusted =
        MessagePackSerializerOptions.Standard.WithSecurity(MessagePackSecurity.UntrustedData);

    /// <summary>Serialises a control frame body.</summary>
    /// <typeparam name="T">The frame type.</typeparam>
    /// <param name="frame">The frame.</param>
    /// <returns>The body bytes.</returns>
    public static byte[] Write<T>(T frame) => MessagePackSerializer.Serialize(frame, MessagePackSerializerOptions.Standard);

    /// <summary>Reads a control frame body and checks its transfer id.</summary>
    /// <typeparam name="T">The frame type.</typeparam>
    /// <param name="body">The untrusted body.</param>
    /// <param name="transferId">Reads the frame's transfer id.</param>
    /// <returns>The frame.</returns>
    /// <exception cref="FrameFormatException">The body is malformed or its transfer id is not acceptable.</exception>
    public static T Read<T>(ReadOnlyMemory<byte> body, Func<T, string?> transferId)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(transferId);
        T? frame;
        try
        {
            frame = MessagePackSerializer.Deserialize<T>(body, Untrusted);
        }
        catch (MessagePackSerializationException ex)
        {
            throw new FrameFormatException($"not a {typeof(T).Name}: {ex.Message}", ex);
        }

        if (frame is null)
        {
            throw new FrameFormatException($"a {typeof(T).Name} body is nil");
        }

        if (!TransferIds.IsValid(transferId(frame)))
        {
            throw new FrameFormatException($"a {typeof(T).Name} needs a transfer id of 1 to {TransferIds.MaxLength} letters, digits, '-' or '_'");
        }

        return frame;
    }
}
