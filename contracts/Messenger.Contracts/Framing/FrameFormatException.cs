namespace Messenger.Contracts.Framing;

/// <summary>A received frame, or its body, is not well formed. The frame is dropped; the channel stays usable.</summary>
public sealed class FrameFormatException : FormatException
{
    /// <summary>Creates the exception with a default message.</summary>
    public FrameFormatException()
        : base("The frame is malformed.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What is wrong with the frame.</param>
    public FrameFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the parser's error.</summary>
    /// <param name="message">What is wrong with the frame.</param>
    /// <param name="innerException">The parser's error.</param>
    public FrameFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
