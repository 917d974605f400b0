using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Messenger.Plugins.Preview.Image;

/// <summary>The thumbnail encoding the image plugin uses; limits come per request in <c>PreviewOptions</c>.</summary>
public sealed record ImagePreviewSettings
{
    /// <summary>The thumbnail format.</summary>
    public ThumbnailFormat Format { get; init; } = ThumbnailFormat.Webp;

    /// <summary>The first encoder quality tried (1–100); lower ones follow until the thumbnail fits the byte cap.</summary>
    public int Quality { get; init; } = 80;

    /// <summary>The lowest encoder quality tried before the thumbnail is made smaller instead.</summary>
    public int MinimumQuality { get; init; } = 30;

    /// <summary>
    /// Reads <c>Format</c> (<c>webp</c> or <c>jpeg</c>), <c>Quality</c> and <c>MinimumQuality</c> from the plugin's
    /// <c>settings</c> section; absent keys keep their defaults.
    /// </summary>
    /// <param name="configuration">The plugin's configuration.</param>
    /// <returns>The settings.</returns>
    /// <exception cref="InvalidOperationException">A value is present but not valid.</exception>
    public static ImagePreviewSettings FromConfiguration(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var defaults = new ImagePreviewSettings();
        var settings = new ImagePreviewSettings
        {
            Format = configuration["Format"] is { } format
                ? Enum.TryParse<ThumbnailFormat>(format, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed)
                    ? parsed
                    : throw new InvalidOperationException($"Image preview setting Format '{format}' is not one of: webp, jpeg.")
                : defaults.Format,
            Quality = ReadQuality(configuration, "Quality", defaults.Quality),
            MinimumQuality = ReadQuality(configuration, "MinimumQuality", defaults.MinimumQuality),
        };
        return settings.MinimumQuality <= settings.Quality
            ? settings
            : throw new InvalidOperationException("Image preview setting MinimumQuality must not exceed Quality.");
    }

    private static int ReadQuality(IConfiguration configuration, string key, int fallback) =>
        configuration[key] is not { } text
            ? fallback
            : int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value is >= 1 and <= 100
                ? value
                : throw new InvalidOperationException($"Image preview setting {key} '{text}' is not a whole number from 1 to 100.");
}

/// <summary>An encoded thumbnail format.</summary>
public enum ThumbnailFormat
{
    /// <summary>WebP (<c>image/webp</c>).</summary>
    Webp,

    /// <summary>Baseline JPEG (<c>image/jpeg</c>).</summary>
    Jpeg,
}
