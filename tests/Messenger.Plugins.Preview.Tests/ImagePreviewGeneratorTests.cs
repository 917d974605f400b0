using Messenger.Contracts.Previews;
using Messenger.Plugins.Preview.Image;
using NetVips;
using VipsImage = NetVips.Image;

namespace Messenger.Plugins.Preview.Tests;

public sealed class ImagePreviewGeneratorTests(ImageSamples samples) : PreviewGeneratorConformanceTests, IClassFixture<ImageSamples>
{
    protected override IPreviewGenerator Generator { get; } = new VipsImagePreviewGenerator(new ImagePreviewSettings());

    protected override string SamplePath => samples.Jpeg;

    protected override string SampleMediaType => "image/jpeg";

    protected override string TypicalExtension => ".jpg";

    protected override string SlowSamplePath => samples.Path("large.png");

    [Theory]
    [InlineData("picture.jpg", "image/jpeg")]
    [InlineData("picture.png", "image/png")]
    [InlineData("picture.webp", "image/webp")]
    [InlineData("picture.gif", "image/gif")]
    [InlineData("picture.tif", "image/tiff")]
    [InlineData("picture.avif", "image/avif")]
    public async Task GenerateAsync_EachFormat_AspectKeptWithinBounds(string name, string mediaType)
    {
        var options = new PreviewOptions();
        var path = samples.Path(name);

        var preview = AssertPreview(await Generator.GenerateAsync(path, options), options);

        Assert.Equal(mediaType, Generator.Sniff(ReadHeader(path)));
        Assert.Equal(mediaType, preview.SourceMediaType);
        Assert.Equal((ImageSamples.Width, ImageSamples.Height), (preview.SourceWidth, preview.SourceHeight));
        Assert.Equal(options.MaxWidth, preview.Width);
        Assert.InRange(preview.Height, 168, 169);
        Assert.Equal("image/webp", preview.ThumbnailMediaType);
    }

    [Fact]
    public async Task GenerateAsync_FormatNamedByWrongExtension_PreviewedByContent()
    {
        var path = Scratch.File("actually-a-png.jpg");
        File.Copy(samples.Path("picture.png"), path);

        var preview = AssertPreview(await Generator.GenerateAsync(path, new PreviewOptions()), new PreviewOptions());

        Assert.Equal("image/png", preview.SourceMediaType);
    }

    [Fact]
    public async Task GenerateAsync_FileNameLooksLikeLoaderOptions_FileReadAsNamed()
    {
        // libvips reads "name.jpg[shrink=8]" as name.jpg with options: a received file's name must not steer the loader.
        var path = Scratch.File("holiday.jpg[shrink=8]");
        File.Copy(SamplePath, path);

        var preview = AssertPreview(await Generator.GenerateAsync(path, new PreviewOptions()), new PreviewOptions());

        Assert.Equal(ImageSamples.Width, preview.SourceWidth);
    }

    [Fact]
    public async Task GenerateAsync_ExifOrientation6_ThumbnailRotatedToPortrait()
    {
        // Orientation 6: the stored landscape pixels display rotated 90° clockwise, so the left (red) half ends up on top.
        var path = Scratch.File("rotated.jpg");
        using (var left = VipsImage.Black(600, 600, bands: 3).NewFromImage(255, 0, 0))
        using (var right = VipsImage.Black(600, 600, bands: 3).NewFromImage(0, 0, 255))
        using (var joined = left.Join(right, Enums.Direction.Horizontal))
        using (var stored = joined.Cast(Enums.BandFormat.Uchar).Mutate(image => image.Set(GValue.GIntType, "orientation", 6)))
        {
            stored.Jpegsave(path, keep: Enums.ForeignKeep.Exif);
        }

        var options = new PreviewOptions();
        var preview = AssertPreview(await Generator.GenerateAsync(path, options), options);

        Assert.Equal((150, 300), (preview.Width, preview.Height));
        Assert.Equal((600, 1200), (preview.SourceWidth, preview.SourceHeight));
        using var thumbnail = VipsImage.NewFromBuffer(preview.Thumbnail);
        var top = thumbnail.Getpoint(75, 40);
        var bottom = thumbnail.Getpoint(75, 260);
        Assert.True(top[0] > 200 && top[2] < 60, $"top pixel is {string.Join(",", top)}, expected red");
        Assert.True(bottom[2] > 200 && bottom[0] < 60, $"bottom pixel is {string.Join(",", bottom)}, expected blue");
    }

    [Fact]
    public async Task GenerateAsync_JpegWithExifAndXmp_ThumbnailCarriesNoMetadata()
    {
        var path = Scratch.File("tagged.jpg");
        using (var picture = ImageSamples.Gradient(800, 600))
        using (var tagged = picture.Mutate(image =>
               {
                   image.Set(GValue.GStrType, "exif-ifd0-Artist", "Somebody Private (Somebody Private, ASCII, 16 components, 16 bytes)");
                   image.Set(GValue.BlobType, "xmp-data", System.Text.Encoding.UTF8.GetBytes("<x:xmpmeta xmlns:x='adobe:ns:meta/'>secret place</x:xmpmeta>"));
               }))
        {
            tagged.Jpegsave(path, keep: Enums.ForeignKeep.All);
        }

        using (var source = VipsImage.NewFromFile(path))
        {
            Assert.True(source.Contains("xmp-data"), "the test source should carry XMP");
        }

        var preview = AssertPreview(await Generator.GenerateAsync(path, new PreviewOptions()), new PreviewOptions());

        Assert.DoesNotContain("secret place"u8.ToArray(), SlidingWindows(preview.Thumbnail, 12));
    }

    [Fact]
    public async Task GenerateAsync_PngDeclaring20000x20000_TooLargeBeforeDecoding()
    {
        var path = Scratch.File("bomb.png");
        await File.WriteAllBytesAsync(path, GreyPng.HeaderWithOneRow(20_000, 20_000));

        var result = await Generator.GenerateAsync(path, new PreviewOptions());

        AssertFailure(result, PreviewFailureKind.TooLarge);
        Assert.Contains("20000", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GenerateAsync_PixelsOverLimit_TooLarge()
    {
        var options = new PreviewOptions { MaxInputPixels = (ImageSamples.Width * ImageSamples.Height) - 1 };

        var result = await Generator.GenerateAsync(SamplePath, options);

        AssertFailure(result, PreviewFailureKind.TooLarge);
    }

    [Fact]
    public async Task GenerateAsync_PixelsAtLimit_Previewed()
    {
        var options = new PreviewOptions { MaxInputPixels = ImageSamples.Width * ImageSamples.Height };

        AssertPreview(await Generator.GenerateAsync(SamplePath, options), options);
    }

    [Fact]
    public async Task GenerateAsync_AnimatedGif_FirstFrameAndDuration()
    {
        var path = Scratch.File("animated.gif");
        using (var frames = ImageSamples.Gradient(200, 600))
        using (var animation = frames.Mutate(image =>
               {
                   image.Set(GValue.GIntType, "page-height", 200);
                   image.Set(GValue.ArrayIntType, "delay", new[] { 100, 250, 400 });
               }))
        {
            animation.Gifsave(path);
        }

        var options = new PreviewOptions();
        var preview = AssertPreview(await Generator.GenerateAsync(path, options), options);

        Assert.Equal((200, 200), (preview.Width, preview.Height));
        Assert.Equal((200, 200), (preview.SourceWidth, preview.SourceHeight));
        Assert.Equal(TimeSpan.FromMilliseconds(750), preview.Duration);
    }

    [Fact]
    public async Task GenerateAsync_ImageSmallerThanBounds_NotEnlarged()
    {
        var path = Scratch.File("small.png");
        using (var small = ImageSamples.Gradient(120, 80))
        {
            small.Pngsave(path);
        }

        var preview = AssertPreview(await Generator.GenerateAsync(path, new PreviewOptions()), new PreviewOptions());

        Assert.Equal((120, 80), (preview.Width, preview.Height));
    }

    [Fact]
    public async Task GenerateAsync_JpegFormatSetting_JpegThumbnail()
    {
        var generator = new VipsImagePreviewGenerator(new ImagePreviewSettings { Format = ThumbnailFormat.Jpeg });

        var preview = AssertPreview(await generator.GenerateAsync(samples.Path("picture.png"), new PreviewOptions()), new PreviewOptions());

        Assert.Equal("image/jpeg", preview.ThumbnailMediaType);
    }

    [Fact]
    public void Sniff_HeifBrandWithoutAvif_ReturnsNull()
    {
        // HEIC needs an HEVC decoder the bundled libvips lacks, so HEIC content must not be claimed.
        byte[] heic = [0, 0, 0, 0x18, .. "ftypheic"u8, 0, 0, 0, 0, .. "mif1heic"u8];

        Assert.Null(Generator.Sniff(heic));
    }

    [Fact]
    public void Sniff_Mp4_ReturnsNull()
    {
        byte[] mp4 = [0, 0, 0, 0x18, .. "ftypisom"u8, 0, 0, 2, 0, .. "isomiso2"u8];

        Assert.Null(Generator.Sniff(mp4));
    }

    private static IEnumerable<byte[]> SlidingWindows(byte[] bytes, int length)
    {
        for (var i = 0; i + length <= bytes.Length; i++)
        {
            yield return bytes[i..(i + length)];
        }
    }
}
