namespace Messenger.Host.Plugins;

/// <summary><c>plugins.json</c> is missing or malformed; the message names the file and the bad entry.</summary>
public sealed class PluginsConfigurationException : Exception
{
    /// <summary>Creates the exception with a default message.</summary>
    public PluginsConfigurationException()
        : base("plugins.json is not valid.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What is wrong and where.</param>
    public PluginsConfigurationException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">What is wrong and where.</param>
    /// <param name="innerException">The parser's error.</param>
    public PluginsConfigurationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
