namespace Messenger.Contracts.Channels;

/// <summary>Thrown when sending on a data channel that is closing or closed.</summary>
public sealed class DataChannelClosedException : InvalidOperationException
{
    /// <summary>Creates the exception with a default message.</summary>
    public DataChannelClosedException()
        : base("The data channel is closed.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What was attempted on the closed channel.</param>
    public DataChannelClosedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the cause.</summary>
    /// <param name="message">What was attempted on the closed channel.</param>
    /// <param name="innerException">Why the channel closed.</param>
    public DataChannelClosedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
