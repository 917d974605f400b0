namespace Messenger.Contracts.Channels;

/// <summary>One message received on a data channel.</summary>
/// <param name="Data">The message bytes; the receiver owns them and may keep them.</param>
/// <param name="IsText">True when the sender sent a UTF-8 text message, false for binary.</param>
public readonly record struct DataChannelMessage(ReadOnlyMemory<byte> Data, bool IsText);
