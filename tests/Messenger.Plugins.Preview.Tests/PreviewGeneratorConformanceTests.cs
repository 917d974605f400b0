using Messenger.Contracts.Previews;
using NetVips;
using VipsImage = NetVips.Image;

namespace Messenger.Plugins.Preview.Tests;

/// <summary>
/// What every <see cref="IPreviewGenerator"/> must do, whatever it previews: a typed result for every input (never an
/// exception), thumbnails within the bounds and the byte cap, and sniffing that claims only its own content.
/// Each generator's test class derives from this and supplies a generator and one valid sample file.
/// </summary>
public abstract class PreviewGeneratorConformanceTests : IDisposable
{
    private const int SniffSeed = 20261123;

    protected TemporaryDirectory Scratch { get; } = new();

    /// <summary>The generator under test.</summary>
    protected abstract IPreviewGenerator Generator { get; }

    /// <summary>A file the generator previews, large enough that it cannot be done within a millisecond.</summary>
    protected abstract string SamplePath { get; }

    /// <summary>A valid file the generator needs well over 100 ms for, to see the timeout and cancellation stop it.</summary>
    protected virtual string SlowSamplePath => SamplePath;

    /// <summary>The media type <see cref="IPreviewGenerator.Sniff"/> returns for <see cref="SamplePath"/>.</summary>
    protected abstract string SampleMediaType { get; }

    /// <summary>A file name extension the generator's kind of file usually has, to show names are not trusted.</summary>
    protected abstract string TypicalExtension { get; }

    public void Dispose()
    {
        Scratch.Dispose();
        GC.SuppressFinalize(this);
    }

    [Fact]
    public void Sniff_SampleHeader_ReturnsSampleMediaType()
    {
        Assert.Equal(SampleMediaType, Generator.Sniff(ReadHeader(SamplePath)));
    }

    [Fact]
    public void Sniff_RandomHeaders_ClaimsNone()
    {
        var random = new Random(SniffSeed);
        var header = new byte[PreviewOptions.SniffLength];
        for (var i = 0; i < 10_000; i++)
        {
            random.NextBytes(header);
            Assert.Null(Generator.Sniff(header));
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("Hello, this is a plain text file and not a picture or a film.")]
    [InlineData("<!DOCTYPE html><html><body>not media</body></html>")]
    [InlineData("%PDF-1.7\n%\u00e2\u00e3\u00cf\u00d3\n1 0 obj")]
    public void Sniff_NonMediaText_ReturnsNull(string text)
    {
        Assert.Null(Generator.Sniff(System.Text.Encoding.UTF8.GetBytes(text)));
    }

    [Fact]
    public void Sniff_SampleHeaderCutShort_DoesNotThrow()
    {
        var header = ReadHeader(SamplePath);
        for (var length = 0; length < header.Length; length++)
        {
            var sniffed = Generator.Sniff(header.AsSpan(0, length));
            Assert.True(sniffed is null || sniffed == SampleMediaType, $"{length} bytes sniffed as {sniffed}");
        }
    }

    [Fact]
    public async Task GenerateAsync_Sample_ThumbnailWithinBoundsAndByteCap()
    {
        var options = new PreviewOptions();

        var result = await Generator.GenerateAsync(SamplePath, options);

        var preview = AssertPreview(result, options);
        Assert.Equal(SampleMediaType, preview.SourceMediaType);
    }

    [Theory]
    [InlineData(64, 48)]
    [InlineData(40, 200)]
    public async Task GenerateAsync_SmallBounds_ThumbnailFitsThem(int maxWidth, int maxHeight)
    {
        var options = new PreviewOptions { MaxWidth = maxWidth, MaxHeight = maxHeight };

        var result = await Generator.GenerateAsync(SamplePath, options);

        var preview = AssertPreview(result, options);
        Assert.True(preview.Width == maxWidth || preview.Height == maxHeight, $"{preview.Width}×{preview.Height} does not touch {maxWidth}×{maxHeight}");
    }

    [Fact]
    public async Task GenerateAsync_TightByteCap_ThumbnailStillFits()
    {
        var options = new PreviewOptions { MaxThumbnailBytes = 1500 };

        var result = await Generator.GenerateAsync(SamplePath, options);

        AssertPreview(result, options);
    }

    [Theory]
    [InlineData(0, 300, 65536)]
    [InlineData(300, -1, 65536)]
    [InlineData(300, 300, 0)]
    public async Task GenerateAsync_UnusableBounds_ThrowsArgumentOutOfRange(int maxWidth, int maxHeight, int maxBytes)
    {
        var options = new PreviewOptions { MaxWidth = maxWidth, MaxHeight = maxHeight, MaxThumbnailBytes = maxBytes };

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await Generator.GenerateAsync(SamplePath, options));
    }

    [Fact]
    public async Task GenerateAsync_ZeroLengthFile_Unsupported()
    {
        var path = Scratch.File("empty" + TypicalExtension);
        await File.WriteAllBytesAsync(path, []);

        var result = await Generator.GenerateAsync(path, new PreviewOptions());

        AssertFailure(result, PreviewFailureKind.Unsupported);
    }

    [Fact]
    public async Task GenerateAsync_RandomBytesWithTypicalExtension_Unsupported()
    {
        var path = Scratch.File("random" + TypicalExtension);
        var bytes = new byte[100_000];
        new Random(SniffSeed).NextBytes(bytes);
        await File.WriteAllBytesAsync(path, bytes);

        var result = await Generator.GenerateAsync(path, new PreviewOptions());

        AssertFailure(result, PreviewFailureKind.Unsupported);
    }

    [Fact]
    public async Task GenerateAsync_SampleMagicThenRandomBytes_Corrupt()
    {
        var path = Scratch.File("garbage" + TypicalExtension);
        var bytes = new byte[100_000];
        new Random(SniffSeed).NextBytes(bytes);
        ReadHeader(SamplePath).AsSpan(0, 32).CopyTo(bytes);
        await File.WriteAllBytesAsync(path, bytes);

        var result = await Generator.GenerateAsync(path, new PreviewOptions());

        AssertFailure(result, PreviewFailureKind.Corrupt);
    }

    [Fact]
    public async Task GenerateAsync_TruncatedSample_Corrupt()
    {
        var path = Scratch.File("truncated" + TypicalExtension);
        var bytes = await File.ReadAllBytesAsync(SamplePath);
        await File.WriteAllBytesAsync(path, bytes[..(bytes.Length / 2)]);

        var result = await Generator.GenerateAsync(path, new PreviewOptions());

        AssertFailure(result, PreviewFailureKind.Corrupt);
    }

    [Fact]
    public async Task GenerateAsync_MissingFile_Corrupt()
    {
        var result = await Generator.GenerateAsync(Scratch.File("missing" + TypicalExtension), new PreviewOptions());

        AssertFailure(result, PreviewFailureKind.Corrupt);
    }

    [Fact]
    public async Task GenerateAsync_FileOverMaxInputBytes_TooLarge()
    {
        var options = new PreviewOptions { MaxInputBytes = new FileInfo(SamplePath).Length - 1 };

        var result = await Generator.GenerateAsync(SamplePath, options);

        AssertFailure(result, PreviewFailureKind.TooLarge);
    }

    [Fact]
    public async Task GenerateAsync_AlreadyCancelled_Timeout()
    {
        using var cancellation = new CancellationTokenSource();
        await cancellation.CancelAsync();

        var result = await Generator.GenerateAsync(SamplePath, new PreviewOptions(), cancellation.Token);

        AssertFailure(result, PreviewFailureKind.Timeout);
    }

    [Fact]
    public async Task GenerateAsync_CancelledWhileWorking_Timeout()
    {
        using var cancellation = new CancellationTokenSource();

        var generating = Generator.GenerateAsync(SlowSamplePath, new PreviewOptions(), cancellation.Token);
        await cancellation.CancelAsync();
        var result = await generating;

        AssertFailure(result, PreviewFailureKind.Timeout);
    }

    [Fact]
    public async Task GenerateAsync_OneMillisecondTimeout_Timeout()
    {
        var result = await Generator.GenerateAsync(SlowSamplePath, new PreviewOptions { Timeout = TimeSpan.FromMilliseconds(1) });

        AssertFailure(result, PreviewFailureKind.Timeout);
    }

    [Fact]
    public async Task GenerateAsync_SlowSampleWithTimeToFinish_Previewed()
    {
        // The slow sample itself is fine: the timeout tests fail only because of the timeout.
        var options = new PreviewOptions();

        AssertPreview(await Generator.GenerateAsync(SlowSamplePath, options), options);
    }

    [Fact]
    public async Task GenerateAsync_SameSampleTwice_SameThumbnailSize()
    {
        var options = new PreviewOptions();

        var first = AssertPreview(await Generator.GenerateAsync(SamplePath, options), options);
        var second = AssertPreview(await Generator.GenerateAsync(SamplePath, options), options);

        Assert.Equal((first.Width, first.Height), (second.Width, second.Height));
    }

    /// <summary>Checks a result is a preview whose thumbnail decodes to its stated size, within the bounds and the cap, without metadata.</summary>
    protected static Contracts.Previews.Preview AssertPreview(PreviewResult result, PreviewOptions options)
    {
        Assert.True(result.Succeeded, $"expected a preview, got {result.Failure}: {result.Reason}");
        var preview = result.Preview!;
        Assert.Null(result.Failure);
        Assert.InRange(preview.Thumbnail.Length, 1, options.MaxThumbnailBytes);
        Assert.InRange(preview.Width, 1, options.MaxWidth);
        Assert.InRange(preview.Height, 1, options.MaxHeight);

        using var decoded = VipsImage.NewFromBuffer(preview.Thumbnail);
        Assert.Equal((preview.Width, preview.Height), (decoded.Width, decoded.Height));
        var expectedLoader = preview.ThumbnailMediaType switch
        {
            "image/webp" => "webpload_buffer",
            "image/jpeg" => "jpegload_buffer",
            var other => throw new Xunit.Sdk.XunitException($"unexpected thumbnail media type {other}"),
        };
        Assert.Equal(expectedLoader, (string)decoded.Get("vips-loader"));
        Assert.False(decoded.Contains("exif-data"), "the thumbnail still carries EXIF");
        Assert.False(decoded.Contains("xmp-data"), "the thumbnail still carries XMP");
        return preview;
    }

    protected static void AssertFailure(PreviewResult result, PreviewFailureKind expected)
    {
        Assert.False(result.Succeeded, $"expected {expected}, got a preview");
        Assert.Null(result.Preview);
        Assert.Equal(expected, result.Failure);
        Assert.False(string.IsNullOrWhiteSpace(result.Reason));
    }

    protected static byte[] ReadHeader(string path)
    {
        using var stream = File.OpenRead(path);
        var header = new byte[PreviewOptions.SniffLength];
        return header[..stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false)];
    }
}
