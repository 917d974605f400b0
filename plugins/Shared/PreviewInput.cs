using Messenger.Contracts.Previews;

namespace Messenger.Plugins.Preview;

/// <summary>
/// The checks every request passes before decoding: the file exists, is within the size limit, and is content the
/// plugin handles. Compiled into each preview plugin, since plugins share nothing but the contracts.
/// </summary>
internal readonly record struct PreviewInput(string? MediaType, PreviewResult? Failure)
{
    public delegate string? Sniffer(ReadOnlySpan<byte> header);

    /// <summary>Bounds that no thumbnail can meet are the caller's mistake, not bad input, so they throw.</summary>
    public static void ThrowIfUnusable(PreviewOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxWidth, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxHeight, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxThumbnailBytes, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Timeout, TimeSpan.Zero, nameof(options));
    }

    public static async ValueTask<PreviewInput> OpenAsync(
        string path, PreviewOptions options, Sniffer sniff, string kindOfContent, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Fail(PreviewFailureKind.Timeout, "The preview was cancelled before it started.");
        }

        try
        {
            var file = new FileInfo(path);
            if (!file.Exists)
            {
                return Fail(PreviewFailureKind.Corrupt, $"The file '{path}' does not exist.");
            }

            if (file.Length == 0)
            {
                // No content means no format to preview: the same answer as content no generator claims.
                return Fail(PreviewFailureKind.Unsupported, "The file is empty.");
            }

            if (file.Length > options.MaxInputBytes)
            {
                return Fail(PreviewFailureKind.TooLarge, $"The file is {file.Length} bytes, over the limit of {options.MaxInputBytes} bytes.");
            }

            var header = new byte[PreviewOptions.SniffLength];
            int length;
            var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 1, useAsync: true);
            await using (stream.ConfigureAwait(false))
            {
                length = await stream.ReadAtLeastAsync(header, header.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            }

            return sniff(header.AsSpan(0, length)) is { } mediaType
                ? new PreviewInput(mediaType, null)
                : Fail(PreviewFailureKind.Unsupported, $"The content is not {kindOfContent}.");
        }
        catch (OperationCanceledException)
        {
            return Fail(PreviewFailureKind.Timeout, "The preview was cancelled or timed out while reading the file.");
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            return Fail(PreviewFailureKind.Corrupt, $"The file could not be read: {error.Message}");
        }
    }

    private static PreviewInput Fail(PreviewFailureKind kind, string reason) => new(null, PreviewResult.None(kind, reason));
}
