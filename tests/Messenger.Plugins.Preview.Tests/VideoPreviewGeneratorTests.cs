using Messenger.Contracts.Previews;
using Messenger.Plugins.Preview.Video;
using VipsImage = NetVips.Image;

namespace Messenger.Plugins.Preview.Tests;

public sealed class VideoPreviewGeneratorTests(VideoSamples samples) : PreviewGeneratorConformanceTests, IClassFixture<VideoSamples>
{
    protected override IPreviewGenerator Generator { get; } = new FFmpegVideoPreviewGenerator(new VideoPreviewSettings());

    protected override string SamplePath => samples.Mp4;

    protected override string SampleMediaType => "video/mp4";

    protected override string TypicalExtension => ".mp4";

    [Theory]
    [InlineData("clip.mp4", "video/mp4")]
    [InlineData("clip.mov", "video/quicktime")]
    [InlineData("clip.mkv", "video/x-matroska")]
    [InlineData("clip.webm", "video/webm")]
    [InlineData("clip.avi", "video/x-msvideo")]
    [InlineData("clip.mpg", "video/mpeg")]
    public async Task GenerateAsync_EachContainer_FrameWithinBoundsAndDuration(string name, string mediaType)
    {
        var options = new PreviewOptions();
        var path = samples.Path(name);

        var preview = AssertPreview(await Generator.GenerateAsync(path, options), options);

        Assert.Equal(mediaType, Generator.Sniff(ReadHeader(path)));
        Assert.Equal(mediaType, preview.SourceMediaType);
        Assert.Equal((VideoSamples.Width, VideoSamples.Height), (preview.SourceWidth, preview.SourceHeight));
        Assert.Equal(options.MaxWidth, preview.Width);
        Assert.InRange(preview.Height, 168, 170);
        Assert.NotNull(preview.Duration);
        Assert.InRange(preview.Duration.Value.TotalSeconds, 1.9, 2.2);
        Assert.Equal("image/webp", preview.ThumbnailMediaType);
    }

    [Fact]
    public async Task GenerateAsync_RedThenBlueVideo_FrameTakenAtOneSecond()
    {
        var preview = AssertPreview(await Generator.GenerateAsync(samples.Path("red-then-blue.mp4"), new PreviewOptions()), new PreviewOptions());

        var (red, _, blue) = CentreColour(preview);
        Assert.True(blue > 180 && red < 80, $"centre is red {red}, blue {blue}: expected the blue second");
    }

    [Fact]
    public async Task GenerateAsync_FramePositionZero_FirstFrame()
    {
        var generator = new FFmpegVideoPreviewGenerator(new VideoPreviewSettings { FramePosition = TimeSpan.Zero });

        var preview = AssertPreview(await generator.GenerateAsync(samples.Path("red-then-blue.mp4"), new PreviewOptions()), new PreviewOptions());

        var (red, _, blue) = CentreColour(preview);
        Assert.True(red > 180 && blue < 80, $"centre is red {red}, blue {blue}: expected the red first frame");
    }

    [Fact]
    public async Task GenerateAsync_ClipShorterThanOneSecond_FirstFrame()
    {
        var options = new PreviewOptions();

        var preview = AssertPreview(await Generator.GenerateAsync(samples.Path("short-green.mp4"), options), options);

        var (red, green, blue) = CentreColour(preview);
        Assert.True(green > 80 && red < 60 && blue < 60, $"centre is {red},{green},{blue}: expected green");
        Assert.InRange(preview.Duration!.Value.TotalSeconds, 0.3, 0.5);
        Assert.Equal((300, 225), (preview.Width, preview.Height));
    }

    [Theory]
    [InlineData("audio-only.mp4")]
    [InlineData("audio-only.webm")]
    public async Task GenerateAsync_AudioOnly_Unsupported(string name)
    {
        var path = samples.Path(name);
        Assert.NotNull(Generator.Sniff(ReadHeader(path)));

        var result = await Generator.GenerateAsync(path, new PreviewOptions());

        AssertFailure(result, PreviewFailureKind.Unsupported);
        Assert.Contains("no video stream", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GenerateAsync_VideoOverPixelLimit_TooLarge()
    {
        var options = new PreviewOptions { MaxInputPixels = (VideoSamples.Width * VideoSamples.Height) - 1 };

        var result = await Generator.GenerateAsync(SamplePath, options);

        AssertFailure(result, PreviewFailureKind.TooLarge);
    }

    [Fact]
    public async Task GenerateAsync_JpegFormatSetting_JpegThumbnail()
    {
        var generator = new FFmpegVideoPreviewGenerator(new VideoPreviewSettings { Format = VideoThumbnailFormat.Jpeg });

        var preview = AssertPreview(await generator.GenerateAsync(SamplePath, new PreviewOptions()), new PreviewOptions());

        Assert.Equal("image/jpeg", preview.ThumbnailMediaType);
    }

    [Fact]
    public async Task GenerateAsync_PathWithQuotesAndProtocolPrefix_Previewed()
    {
        var path = Scratch.File("concat:\"odd\" name.mp4");
        File.Copy(SamplePath, path);

        AssertPreview(await Generator.GenerateAsync(path, new PreviewOptions()), new PreviewOptions());
    }

    [Fact]
    public async Task GenerateAsync_NoFfmpegInBinaryFolder_ToolFailed()
    {
        var generator = new FFmpegVideoPreviewGenerator(new VideoPreviewSettings { BinaryFolder = Scratch.Path });

        var result = await generator.GenerateAsync(SamplePath, new PreviewOptions());

        AssertFailure(result, PreviewFailureKind.ToolFailed);
    }

    [Theory]
    [InlineData("ffprobe")]
    [InlineData("ffmpeg")]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task GenerateAsync_CancelledWhileToolHangs_TimeoutAndProcessKilled(string hangingTool)
    {
        var pidFile = InstallTools(hangingTool);
        var generator = new FFmpegVideoPreviewGenerator(new VideoPreviewSettings { BinaryFolder = Scratch.Path });
        using var cancellation = new CancellationTokenSource();

        var generating = generator.GenerateAsync(SamplePath, new PreviewOptions { Timeout = TimeSpan.FromMinutes(1) }, cancellation.Token).AsTask();
        var pid = await WaitForPid(pidFile, generating);
        await cancellation.CancelAsync();
        var result = await generating;

        AssertFailure(result, PreviewFailureKind.Timeout);
        Assert.True(await ExitsWithin(pid, TimeSpan.FromSeconds(5)), $"the hanging {hangingTool} (pid {pid}) is still running");
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task GenerateAsync_ToolHangsPastTimeout_TimeoutAndProcessKilled()
    {
        var pidFile = InstallTools("ffprobe");
        var generator = new FFmpegVideoPreviewGenerator(new VideoPreviewSettings { BinaryFolder = Scratch.Path });

        var generating = generator.GenerateAsync(SamplePath, new PreviewOptions { Timeout = TimeSpan.FromSeconds(4) }).AsTask();
        var pid = await WaitForPid(pidFile, generating);
        var result = await generating;

        AssertFailure(result, PreviewFailureKind.Timeout);
        Assert.True(await ExitsWithin(pid, TimeSpan.FromSeconds(5)), $"the hanging ffprobe (pid {pid}) is still running");
    }

    /// <summary>
    /// Puts fake ffprobe and ffmpeg in the scratch folder: the hanging one answers FFMpegCore's version check, then
    /// records its pid and sleeps; the other runs the real binary.
    /// </summary>
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private string InstallTools(string hangingTool)
    {
        var pidFile = Scratch.File(hangingTool + ".pid");
        foreach (var tool in new[] { "ffprobe", "ffmpeg" })
        {
            var script = Scratch.File(tool);
            File.WriteAllText(script, tool == hangingTool
                ? $"#!/bin/sh\n[ \"$1\" = -version ] && exec /usr/bin/{tool} -version\necho $$ > '{pidFile}.tmp'\nmv '{pidFile}.tmp' '{pidFile}'\nexec sleep 60\n"
                : $"#!/bin/sh\nexec /usr/bin/{tool} \"$@\"\n");
            File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        }

        return pidFile;
    }

    private static async Task<int> WaitForPid(string pidFile, Task<PreviewResult> generating)
    {
        while (!File.Exists(pidFile))
        {
            if (generating.IsCompleted)
            {
                var early = await generating;
                throw new Xunit.Sdk.XunitException($"the preview ended before the tool hung: {early.Failure}: {early.Reason}");
            }

            await Task.Delay(20);
        }

        return int.Parse((await File.ReadAllTextAsync(pidFile)).Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public void Sniff_AvifImage_ReturnsNull()
    {
        byte[] avif = [0, 0, 0, 0x1C, .. "ftypavif"u8, 0, 0, 0, 0, .. "avifmif1miaf"u8];

        Assert.Null(Generator.Sniff(avif));
    }

    [Fact]
    public void Sniff_M4aAudioBrand_ReturnsNull()
    {
        byte[] m4a = [0, 0, 0, 0x1C, .. "ftypM4A "u8, 0, 0, 2, 0, .. "M4A isomiso2"u8];

        Assert.Null(Generator.Sniff(m4a));
    }

    [Fact]
    public void Sniff_WebpImage_ReturnsNull()
    {
        byte[] webp = [.. "RIFF"u8, 0x10, 0, 0, 0, .. "WEBPVP8 "u8];

        Assert.Null(Generator.Sniff(webp));
    }

    private static (double Red, double Green, double Blue) CentreColour(Contracts.Previews.Preview preview)
    {
        using var thumbnail = VipsImage.NewFromBuffer(preview.Thumbnail);
        var pixel = thumbnail.Getpoint(thumbnail.Width / 2, thumbnail.Height / 2);
        return (pixel[0], pixel[1], pixel[2]);
    }

    private static async Task<bool> ExitsWithin(int pid, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (DateTime.UtcNow < deadline)
        {
            string stat;
            try
            {
                stat = await File.ReadAllTextAsync($"/proc/{pid}/stat");
            }
            catch (IOException)
            {
                // The /proc entry vanishes, or reads "No such process", once the process is reaped.
                return true;
            }

            // A zombie has exited; only its parent's reaping is left.
            if (stat.Split(") ", 2)[1].StartsWith('Z'))
            {
                return true;
            }

            await Task.Delay(50);
        }

        return false;
    }
}
