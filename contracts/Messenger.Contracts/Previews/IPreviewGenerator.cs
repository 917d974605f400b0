namespace Messenger.Contracts.Previews;

/// <summary>
/// Makes a thumbnail of a file so the receiver sees what is offered before accepting. Register with
/// <c>services.TryAddEnumerable(ServiceDescriptor.Singleton&lt;IPreviewGenerator, MyGenerator&gt;())</c>; the file
/// transfer asks each registered generator in turn, by the file's content, never by its name.
/// </summary>
public interface IPreviewGenerator
{
    /// <summary>A short name for logs and <c>messenger plugins</c>.</summary>
    string Name { get; }

    /// <summary>
    /// Says whether this generator handles content that starts with <paramref name="header"/> (up to
    /// <see cref="PreviewOptions.SniffLength"/> bytes; fewer for short files) and returns its media type.
    /// </summary>
    /// <param name="header">The first bytes of the file.</param>
    /// <returns>The sniffed media type, or null when this generator does not handle it.</returns>
    string? Sniff(ReadOnlySpan<byte> header);

    /// <summary>Makes a thumbnail within <paramref name="options"/>' limits. Never throws for bad input.</summary>
    /// <param name="path">The file to preview.</param>
    /// <param name="options">Bounds and limits.</param>
    /// <param name="cancellationToken">Abandons the work.</param>
    /// <returns>A preview, or the typed reason there is none.</returns>
    ValueTask<PreviewResult> GenerateAsync(string path, PreviewOptions options, CancellationToken cancellationToken = default);
}
