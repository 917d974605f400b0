namespace Messenger.Transport.Sctp;

/// <summary>How one user message is sent: ordering and RFC 3758 partial reliability.</summary>
/// <param name="Unordered">Deliver as soon as complete, ignoring the stream order (U bit).</param>
/// <param name="MaxRetransmits">Abandon after this many retransmissions; null means fully reliable.</param>
/// <param name="Lifetime">Abandon if not acknowledged this long after <see cref="SctpAssociation.Send"/>; null means forever.</param>
public readonly record struct SctpSendOptions(bool Unordered = false, int? MaxRetransmits = null, TimeSpan? Lifetime = null);
