using System.Collections.Frozen;
using Messenger.Contracts.Framing;

namespace Messenger.Host.Framing;

/// <summary>Maps each frame kind to the one handler that registered it.</summary>
public sealed class FrameRouter
{
    private readonly FrozenDictionary<int, IFrameHandler> _owners;

    /// <summary>Builds the routing table.</summary>
    /// <param name="handlers">Every registered handler.</param>
    /// <exception cref="FrameKindConflictException">Two handlers claim the same kind.</exception>
    public FrameRouter(IEnumerable<IFrameHandler> handlers)
    {
        ArgumentNullException.ThrowIfNull(handlers);
        var owners = new Dictionary<int, IFrameHandler>();
        foreach (var handler in handlers)
        {
            foreach (var kind in handler.Kinds)
            {
                if (kind.Value < 0)
                {
                    throw new FrameKindConflictException($"Frame handler '{handler.Name}' claims negative frame kind {kind}.");
                }

                if (owners.TryGetValue(kind.Value, out var owner) && !ReferenceEquals(owner, handler))
                {
                    throw new FrameKindConflictException(
                        $"Frame kind {kind} is claimed by both '{owner.Name}' and '{handler.Name}'; a kind has one owner.");
                }

                owners[kind.Value] = handler;
            }
        }

        _owners = owners.ToFrozenDictionary();
    }

    /// <summary>Every routed kind and its owner's name, for diagnostics.</summary>
    public IReadOnlyDictionary<int, string> Kinds => _owners.ToDictionary(p => p.Key, p => p.Value.Name);

    /// <summary>Finds the owner of a kind.</summary>
    /// <param name="kind">The kind.</param>
    /// <param name="handler">The owner.</param>
    /// <returns>False for a kind nobody registered.</returns>
    public bool TryGetHandler(FrameKind kind, out IFrameHandler handler) => _owners.TryGetValue(kind.Value, out handler!);
}

/// <summary>Two handlers claim the same frame kind: a configuration error found at start-up.</summary>
public sealed class FrameKindConflictException : InvalidOperationException
{
    /// <summary>Creates the exception with a default message.</summary>
    public FrameKindConflictException()
        : base("Two frame handlers claim the same kind.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">Which kind and handlers conflict.</param>
    public FrameKindConflictException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">Which kind and handlers conflict.</param>
    /// <param name="innerException">The cause.</param>
    public FrameKindConflictException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
