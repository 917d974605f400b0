namespace Messenger.Transport.Sdp;

/// <summary>Session description text we cannot use; <see cref="LineNumber"/> is 1-based, 0 for the whole text.</summary>
public sealed class SdpParseException : FormatException
{
    public SdpParseException()
    {
    }

    public SdpParseException(string message)
        : base(message)
    {
    }

    public SdpParseException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public SdpParseException(string message, int lineNumber, Exception? innerException = null)
        : base(lineNumber > 0 ? $"SDP line {lineNumber}: {message}" : message, innerException)
    {
        LineNumber = lineNumber;
    }

    public int LineNumber { get; }
}
