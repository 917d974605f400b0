namespace Messenger.Transport.Stun;

/// <summary>One attribute as it sits in a message: its type and its value without padding (RFC 8489 §14).</summary>
public readonly record struct StunAttributeEntry(ushort Type, ReadOnlyMemory<byte> Value);
