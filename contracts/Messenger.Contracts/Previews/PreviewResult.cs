namespace Messenger.Contracts.Previews;

/// <summary>A generated thumbnail and what is known about its source.</summary>
public sealed record Preview
{
    /// <summary>The encoded thumbnail (WebP or JPEG).</summary>
    public required byte[] Thumbnail { get; init; }

    /// <summary>The thumbnail's media type, such as <c>image/webp</c>.</summary>
    public required string ThumbnailMediaType { get; init; }

    /// <summary>The thumbnail's width in pixels.</summary>
    public required int Width { get; init; }

    /// <summary>The thumbnail's height in pixels.</summary>
    public required int Height { get; init; }

    /// <summary>The media type of the source, as sniffed from its content.</summary>
    public required string SourceMediaType { get; init; }

    /// <summary>The source's width in pixels, when known.</summary>
    public int? SourceWidth { get; init; }

    /// <summary>The source's height in pixels, when known.</summary>
    public int? SourceHeight { get; init; }

    /// <summary>The source's duration (video and animation), when known.</summary>
    public TimeSpan? Duration { get; init; }
}

/// <summary>Why no preview was made.</summary>
public enum PreviewFailureKind
{
    /// <summary>No generator handles this content; not an error.</summary>
    Unsupported,

    /// <summary>The input is over a size or pixel limit.</summary>
    TooLarge,

    /// <summary>The input is corrupt, truncated or not what it claims to be.</summary>
    Corrupt,

    /// <summary>Generation took longer than the timeout and was stopped.</summary>
    Timeout,

    /// <summary>The generator's tool failed (for example ffmpeg is missing).</summary>
    ToolFailed,
}

/// <summary>The outcome of a preview request: a preview, or the reason there is none. Never an exception.</summary>
public sealed record PreviewResult
{
    private PreviewResult(Preview? preview, PreviewFailureKind? failure, string? reason)
    {
        Preview = preview;
        Failure = failure;
        Reason = reason;
    }

    /// <summary>The preview, or null when there is none.</summary>
    public Preview? Preview { get; }

    /// <summary>Why there is no preview, or null on success.</summary>
    public PreviewFailureKind? Failure { get; }

    /// <summary>A sentence saying why there is no preview, or null on success.</summary>
    public string? Reason { get; }

    /// <summary>True when <see cref="Preview"/> is set.</summary>
    public bool Succeeded => Preview is not null;

    /// <summary>A successful result.</summary>
    /// <param name="preview">The preview.</param>
    /// <returns>The result.</returns>
    public static PreviewResult Success(Preview preview)
    {
        ArgumentNullException.ThrowIfNull(preview);
        return new(preview, null, null);
    }

    /// <summary>A result without a preview.</summary>
    /// <param name="failure">The kind of failure.</param>
    /// <param name="reason">A sentence saying why.</param>
    /// <returns>The result.</returns>
    public static PreviewResult None(PreviewFailureKind failure, string reason) => new(null, failure, reason);
}
