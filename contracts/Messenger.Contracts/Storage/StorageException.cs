namespace Messenger.Contracts.Storage;

/// <summary>A store could not do what was asked: the base of the typed storage errors.</summary>
public class StorageException : IOException
{
    /// <summary>Creates the exception with a default message.</summary>
    public StorageException()
        : base("The store failed.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What failed, in words a user can act on.</param>
    public StorageException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">What failed, in words a user can act on.</param>
    /// <param name="innerException">The cause.</param>
    public StorageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>Stored data failed its integrity check: it was altered, truncated or reordered on disk.</summary>
public sealed class StorageIntegrityException : StorageException
{
    /// <summary>Creates the exception with a default message.</summary>
    public StorageIntegrityException()
        : base("Stored data failed its integrity check.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What failed the check.</param>
    public StorageIntegrityException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">What failed the check.</param>
    /// <param name="innerException">The cause.</param>
    public StorageIntegrityException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The store could not be opened with the key given: a wrong passphrase, or not a Messenger store.</summary>
public sealed class StorageKeyException : StorageException
{
    /// <summary>Creates the exception with the standard message.</summary>
    public StorageKeyException()
        : base("Wrong passphrase or not a Messenger store.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What was wrong.</param>
    public StorageKeyException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">What was wrong.</param>
    /// <param name="innerException">The cause.</param>
    public StorageKeyException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>No stored file has the id asked for.</summary>
public sealed class StoredFileNotFoundException : StorageException
{
    /// <summary>Creates the exception with a default message.</summary>
    public StoredFileNotFoundException()
        : base("No stored file has that id.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">Which file was missing.</param>
    public StoredFileNotFoundException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">Which file was missing.</param>
    /// <param name="innerException">The cause.</param>
    public StoredFileNotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
