namespace Messenger.Transport.Stun;

/// <summary>A STUN request got no response after every retransmission (RFC 8489 §6.2.1).</summary>
public sealed class StunTimeoutException : TimeoutException
{
    public StunTimeoutException()
        : base("The STUN server did not answer.")
    {
    }

    public StunTimeoutException(string message)
        : base(message)
    {
    }

    public StunTimeoutException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>A STUN server answered with an error response.</summary>
public sealed class StunErrorResponseException : Exception
{
    public StunErrorResponseException()
        : base("The STUN server answered with an error.")
    {
    }

    public StunErrorResponseException(string message)
        : base(message)
    {
    }

    public StunErrorResponseException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public StunErrorResponseException(StunErrorCode? error)
        : base(error is null ? "The STUN server answered with an error without ERROR-CODE." : $"The STUN server answered {error.Code} {error.Reason}.")
    {
        Error = error;
    }

    public StunErrorCode? Error { get; }
}
