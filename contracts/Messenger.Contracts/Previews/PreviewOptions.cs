namespace Messenger.Contracts.Previews;

/// <summary>Bounds for one thumbnail and the limits that protect against hostile input.</summary>
public sealed record PreviewOptions
{
    /// <summary>How many leading bytes of a file a generator is shown to decide if it handles it.</summary>
    public const int SniffLength = 64;

    /// <summary>The thumbnail's largest width in pixels.</summary>
    public int MaxWidth { get; init; } = 300;

    /// <summary>The thumbnail's largest height in pixels.</summary>
    public int MaxHeight { get; init; } = 300;

    /// <summary>The thumbnail's largest encoded size in bytes.</summary>
    public int MaxThumbnailBytes { get; init; } = 64 * 1024;

    /// <summary>Files larger than this get no preview.</summary>
    public long MaxInputBytes { get; init; } = 4L * 1024 * 1024 * 1024;

    /// <summary>Images with more pixels than this (width × height) get no preview: the decompression-bomb limit.</summary>
    public long MaxInputPixels { get; init; } = 100_000_000;

    /// <summary>How long one preview may take before it is abandoned (and any child process killed).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);
}
