namespace Messenger.Transport.Sctp;

/// <summary>Thrown when bytes are not a well-formed SCTP packet, chunk or parameter.</summary>
public sealed class SctpParseException : FormatException
{
    /// <summary>Creates the exception with a default message.</summary>
    public SctpParseException()
        : base("Malformed SCTP packet.")
    {
    }

    /// <summary>Creates the exception saying what is malformed.</summary>
    /// <param name="message">What was wrong with the bytes.</param>
    public SctpParseException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the cause.</summary>
    /// <param name="message">What was wrong with the bytes.</param>
    /// <param name="innerException">The underlying error.</param>
    public SctpParseException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
