using Messenger.Contracts.Previews;
using NetVips;
using VipsImage = NetVips.Image;

namespace Messenger.Plugins.Preview.Image;

/// <summary>
/// Image thumbnails with libvips: the header is checked against the limits before any pixel is decoded, then
/// <c>thumbnail</c> shrinks on load, applies EXIF orientation, and the result is encoded without metadata under the
/// byte cap.
/// </summary>
public sealed class VipsImagePreviewGenerator : IPreviewGenerator
{
    // Encoder qualities are lowered in these steps, then the thumbnail shrinks by ShrinkStep, until it fits.
    private const int QualityStep = 15;
    private const double ShrinkStep = 0.75;
    private const int MaxShrinks = 6;

    private readonly ImagePreviewSettings _settings;

    /// <summary>Creates the generator.</summary>
    /// <param name="settings">The thumbnail encoding.</param>
    public VipsImagePreviewGenerator(ImagePreviewSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
    }

    /// <inheritdoc />
    public string Name
    {
        get
        {
            LibVips.Ensure();
            return "image (libvips " + NetVips.NetVips.Version(0) + "." + NetVips.NetVips.Version(1) + ")";
        }
    }

    /// <inheritdoc />
    public string? Sniff(ReadOnlySpan<byte> header) => ImageContentSniffer.Sniff(header);

    /// <inheritdoc />
    public async ValueTask<PreviewResult> GenerateAsync(string path, PreviewOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        PreviewInput.ThrowIfUnusable(options);

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.Timeout);
        var input = await PreviewInput.OpenAsync(path, options, Sniff, "an image format this plugin previews", deadline.Token).ConfigureAwait(false);
        if (input.Failure is { } failure)
        {
            return failure;
        }

        // libvips blocks its thread for the whole decode: a dedicated thread keeps the pool, and its timers, free.
        var work = Task.Factory.StartNew(
            () => Generate(path, input.MediaType!, options, deadline.Token),
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
        try
        {
            // libvips stops at its next output tile once killed, late for formats without shrink-on-load: the wait bounds the caller.
            return await work.WaitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return Stopped(options, cancellationToken);
        }
    }

    private PreviewResult Generate(string path, string mediaType, PreviewOptions options, CancellationToken cancellationToken)
    {
        LibVips.Ensure();
        try
        {
            // A source opens the file by its exact name; libvips would read a trailing "[...]" in a file name as loader options.
            using var source = Source.NewFromFile(path);
            // Opening reads only the header: dimensions are known before any pixel is decoded.
            int sourceWidth, sourceHeight;
            TimeSpan? duration;
            using (var header = VipsImage.NewFromSource(source, access: Enums.Access.Sequential, failOn: Enums.FailOn.Error))
            {
                var pageHeight = header.PageHeight;
                if ((long)header.Width * pageHeight > options.MaxInputPixels)
                {
                    return PreviewResult.None(
                        PreviewFailureKind.TooLarge,
                        $"The image is {header.Width}×{pageHeight} pixels, over the limit of {options.MaxInputPixels} pixels.");
                }

                var swapsSides = header.Contains("orientation") && (int)header.Get("orientation") is >= 5 and <= 8;
                (sourceWidth, sourceHeight) = swapsSides ? (pageHeight, header.Width) : (header.Width, pageHeight);
                duration = AnimationDuration(header);
            }

            cancellationToken.ThrowIfCancellationRequested();
            // thumbnail_source ignores the fail_on argument (a truncated JPEG comes out grey-filled); the option string is honoured.
            using var thumbnail = VipsImage.ThumbnailSource(
                source,
                options.MaxWidth,
                optionString: "fail_on=error",
                height: options.MaxHeight,
                size: Enums.Size.Down);
            // NetVips hooks the kill check only when a progress sink is given, so give one that ignores the reports.
            thumbnail.SetProgress(IgnoredProgress.Instance, cancellationToken);
            // Decode once into memory: every encoding attempt below reuses these pixels.
            using var pixels = thumbnail.CopyMemory();
            cancellationToken.ThrowIfCancellationRequested();

            return Encode(pixels, options, cancellationToken) is { } encoded
                ? PreviewResult.Success(new Contracts.Previews.Preview
                {
                    Thumbnail = encoded.Bytes,
                    ThumbnailMediaType = _settings.Format == ThumbnailFormat.Webp ? "image/webp" : "image/jpeg",
                    Width = encoded.Width,
                    Height = encoded.Height,
                    SourceMediaType = mediaType,
                    SourceWidth = sourceWidth,
                    SourceHeight = sourceHeight,
                    Duration = duration,
                })
                : PreviewResult.None(
                    PreviewFailureKind.ToolFailed,
                    $"No thumbnail fits in {options.MaxThumbnailBytes} bytes, even at quality {_settings.MinimumQuality} and reduced size.");
        }
        catch (VipsException error) when (cancellationToken.IsCancellationRequested)
        {
            return PreviewResult.None(PreviewFailureKind.Timeout, "libvips was stopped: " + FirstLine(error.Message));
        }
        catch (VipsException error)
        {
            return PreviewResult.None(PreviewFailureKind.Corrupt, "libvips could not read the image: " + FirstLine(error.Message));
        }
        catch (OperationCanceledException)
        {
            return PreviewResult.None(PreviewFailureKind.Timeout, "The thumbnail was stopped before it was finished.");
        }
        catch (IOException error)
        {
            return PreviewResult.None(PreviewFailureKind.Corrupt, "The image could not be read: " + error.Message);
        }
    }

    private (byte[] Bytes, int Width, int Height)? Encode(VipsImage pixels, PreviewOptions options, CancellationToken cancellationToken)
    {
        var image = pixels;
        try
        {
            for (var shrink = 0; shrink <= MaxShrinks; shrink++)
            {
                for (var quality = _settings.Quality; ; quality = Math.Max(_settings.MinimumQuality, quality - QualityStep))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var bytes = _settings.Format == ThumbnailFormat.Webp
                        ? image.WebpsaveBuffer(q: quality, keep: Enums.ForeignKeep.None)
                        : image.JpegsaveBuffer(q: quality, keep: Enums.ForeignKeep.None, optimizeCoding: true);
                    if (bytes.Length <= options.MaxThumbnailBytes)
                    {
                        return (bytes, image.Width, image.Height);
                    }

                    if (quality == _settings.MinimumQuality)
                    {
                        break;
                    }
                }

                if (image.Width == 1 && image.Height == 1)
                {
                    return null;
                }

                var smaller = image.Resize(ShrinkStep);
                if (!ReferenceEquals(image, pixels))
                {
                    image.Dispose();
                }

                image = smaller;
            }

            return null;
        }
        finally
        {
            if (!ReferenceEquals(image, pixels))
            {
                image.Dispose();
            }
        }
    }

    // Animated GIF and WebP carry one delay per frame in milliseconds.
    private static TimeSpan? AnimationDuration(VipsImage header) =>
        header.Contains("delay") && header.Get("delay") is int[] { Length: > 1 } delays
            ? TimeSpan.FromMilliseconds(delays.Sum(delay => (long)delay))
            : null;

    private static PreviewResult Stopped(PreviewOptions options, CancellationToken callerToken) =>
        callerToken.IsCancellationRequested
            ? PreviewResult.None(PreviewFailureKind.Timeout, "The thumbnail was cancelled by the caller.")
            : PreviewResult.None(PreviewFailureKind.Timeout, $"The thumbnail took longer than {options.Timeout.TotalSeconds:0.###} s and was stopped.");

    private static string FirstLine(string message) => message.Split('\n', 2)[0].Trim();

    private sealed class IgnoredProgress : IProgress<int>
    {
        public static readonly IgnoredProgress Instance = new();

        public void Report(int value)
        {
        }
    }

    /// <summary>
    /// libvips is loaded and set up on the first preview (or the first look at <see cref="Name"/>), not when the host
    /// builds its services: a process that never previews an image does not map the library and its dependencies.
    /// </summary>
    private static class LibVips
    {
        static LibVips()
        {
            // Only the loaders libvips marks trusted (no ImageMagick, MATLAB, ...) may see network input.
            NetVips.NetVips.BlockUntrusted = true;
            // The operation cache would keep decoded images and open files of previous requests alive.
            Cache.Max = 0;
            Cache.MaxFiles = 0;
        }

        /// <summary>Runs the set-up once, before anything else touches libvips.</summary>
        public static void Ensure()
        {
        }
    }
}
