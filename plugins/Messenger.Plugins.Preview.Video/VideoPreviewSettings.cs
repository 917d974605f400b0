using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Messenger.Plugins.Preview.Video;

/// <summary>Where ffmpeg is and how thumbnails are encoded; limits come per request in <c>PreviewOptions</c>.</summary>
public sealed record VideoPreviewSettings
{
    /// <summary>The folder holding the <c>ffmpeg</c> and <c>ffprobe</c> executables.</summary>
    public string BinaryFolder { get; init; } = "/usr/bin";

    /// <summary>The thumbnail format.</summary>
    public VideoThumbnailFormat Format { get; init; } = VideoThumbnailFormat.Webp;

    /// <summary>The first encoder quality tried (1–100); lower ones follow until the thumbnail fits the byte cap.</summary>
    public int Quality { get; init; } = 80;

    /// <summary>The lowest encoder quality tried before the thumbnail is made smaller instead.</summary>
    public int MinimumQuality { get; init; } = 30;

    /// <summary>Where in the video the frame is taken, when the video is long enough.</summary>
    public TimeSpan FramePosition { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Reads <c>BinaryFolder</c>, <c>Format</c> (<c>webp</c> or <c>jpeg</c>), <c>Quality</c>, <c>MinimumQuality</c> and
    /// <c>FramePositionSeconds</c> from the plugin's <c>settings</c> section; absent keys keep their defaults.
    /// </summary>
    /// <param name="configuration">The plugin's configuration.</param>
    /// <returns>The settings.</returns>
    /// <exception cref="InvalidOperationException">A value is present but not valid.</exception>
    public static VideoPreviewSettings FromConfiguration(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var defaults = new VideoPreviewSettings();
        var settings = new VideoPreviewSettings
        {
            BinaryFolder = configuration["BinaryFolder"] is { Length: > 0 } folder ? folder : defaults.BinaryFolder,
            Format = configuration["Format"] is { } format
                ? Enum.TryParse<VideoThumbnailFormat>(format, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed)
                    ? parsed
                    : throw new InvalidOperationException($"Video preview setting Format '{format}' is not one of: webp, jpeg.")
                : defaults.Format,
            Quality = ReadQuality(configuration, "Quality", defaults.Quality),
            MinimumQuality = ReadQuality(configuration, "MinimumQuality", defaults.MinimumQuality),
            FramePosition = configuration["FramePositionSeconds"] is not { } seconds
                ? defaults.FramePosition
                : double.TryParse(seconds, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value is >= 0 and <= 3600
                    ? TimeSpan.FromSeconds(value)
                    : throw new InvalidOperationException($"Video preview setting FramePositionSeconds '{seconds}' is not a number of seconds from 0 to 3600."),
        };
        return settings.MinimumQuality <= settings.Quality
            ? settings
            : throw new InvalidOperationException("Video preview setting MinimumQuality must not exceed Quality.");
    }

    private static int ReadQuality(IConfiguration configuration, string key, int fallback) =>
        configuration[key] is not { } text
            ? fallback
            : int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value is >= 1 and <= 100
                ? value
                : throw new InvalidOperationException($"Video preview setting {key} '{text}' is not a whole number from 1 to 100.");
}

/// <summary>An encoded thumbnail format.</summary>
public enum VideoThumbnailFormat
{
    /// <summary>WebP (<c>image/webp</c>), encoded by ffmpeg's libwebp.</summary>
    Webp,

    /// <summary>JPEG (<c>image/jpeg</c>), encoded by ffmpeg's mjpeg.</summary>
    Jpeg,
}
