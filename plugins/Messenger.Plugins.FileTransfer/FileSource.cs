namespace Messenger.Plugins.FileTransfer;

/// <summary>Opens the files the sender offers; a seam so tests can send generated streams of any size.</summary>
internal interface IFileSource
{
    /// <summary>Opens <paramref name="path"/> for reading with seeking.</summary>
    /// <param name="path">The path given to <c>SendFileAsync</c> (or stored for resume).</param>
    /// <returns>A readable, seekable stream.</returns>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    Stream OpenRead(string path);
}

/// <summary>Reads real files, sequentially and asynchronously.</summary>
internal sealed class DiskFileSource : IFileSource
{
    public Stream OpenRead(string path) =>
        new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.Asynchronous | FileOptions.SequentialScan);
}
