using Messenger.Plugins.Preview.Image;
using Messenger.Plugins.Preview.Video;
using Microsoft.Extensions.Configuration;

namespace Messenger.Plugins.Preview.Tests;

public sealed class PreviewSettingsTests
{
    [Fact]
    public void ImageSettings_EmptySection_Defaults()
    {
        Assert.Equal(new ImagePreviewSettings(), ImagePreviewSettings.FromConfiguration(Configuration([])));
    }

    [Fact]
    public void ImageSettings_AllKeys_Read()
    {
        var settings = ImagePreviewSettings.FromConfiguration(Configuration(new() { ["Format"] = "JPEG", ["Quality"] = "70", ["MinimumQuality"] = "20" }));

        Assert.Equal(new ImagePreviewSettings { Format = ThumbnailFormat.Jpeg, Quality = 70, MinimumQuality = 20 }, settings);
    }

    [Theory]
    [InlineData("Format", "png")]
    [InlineData("Format", "7")]
    [InlineData("Quality", "0")]
    [InlineData("Quality", "101")]
    [InlineData("Quality", "high")]
    [InlineData("MinimumQuality", "95")]
    public void ImageSettings_InvalidValue_ThrowsNamingTheKey(string key, string value)
    {
        var error = Assert.Throws<InvalidOperationException>(() => ImagePreviewSettings.FromConfiguration(Configuration(new() { [key] = value })));

        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void VideoSettings_EmptySection_Defaults()
    {
        Assert.Equal(new VideoPreviewSettings(), VideoPreviewSettings.FromConfiguration(Configuration([])));
    }

    [Fact]
    public void VideoSettings_AllKeys_Read()
    {
        var settings = VideoPreviewSettings.FromConfiguration(Configuration(new()
        {
            ["BinaryFolder"] = "/opt/ffmpeg/bin",
            ["Format"] = "jpeg",
            ["Quality"] = "60",
            ["MinimumQuality"] = "10",
            ["FramePositionSeconds"] = "2.5",
        }));

        Assert.Equal(
            new VideoPreviewSettings
            {
                BinaryFolder = "/opt/ffmpeg/bin",
                Format = VideoThumbnailFormat.Jpeg,
                Quality = 60,
                MinimumQuality = 10,
                FramePosition = TimeSpan.FromSeconds(2.5),
            },
            settings);
    }

    [Theory]
    [InlineData("Format", "gif")]
    [InlineData("Quality", "-5")]
    [InlineData("MinimumQuality", "81")]
    [InlineData("FramePositionSeconds", "-1")]
    [InlineData("FramePositionSeconds", "soon")]
    public void VideoSettings_InvalidValue_ThrowsNamingTheKey(string key, string value)
    {
        var error = Assert.Throws<InvalidOperationException>(() => VideoPreviewSettings.FromConfiguration(Configuration(new() { [key] = value })));

        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    private static IConfiguration Configuration(Dictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build();
}
