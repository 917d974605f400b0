using System.Buffers.Binary;
using System.ComponentModel;
using System.Globalization;
using FFMpegCore;
using FFMpegCore.Enums;
using FFMpegCore.Exceptions;
using Instances.Exceptions;
using Messenger.Contracts.Previews;

namespace Messenger.Plugins.Preview.Video;

/// <summary>
/// Video thumbnails with ffmpeg: ffprobe reads duration and size, ffmpeg takes one frame at
/// <see cref="VideoPreviewSettings.FramePosition"/> (the first frame for shorter clips) scaled into the bounds, and
/// encodes it under the byte cap. Every process is killed when the timeout or the caller's token fires.
/// </summary>
public sealed class FFmpegVideoPreviewGenerator : IPreviewGenerator
{
    // Encoder qualities are lowered in these steps, then the frame shrinks to 3/4, until the thumbnail fits.
    private const int QualityStep = 15;
    private const int MaxShrinks = 6;

    private readonly VideoPreviewSettings _settings;

    /// <summary>Creates the generator.</summary>
    /// <param name="settings">Where ffmpeg is and the thumbnail encoding.</param>
    public FFmpegVideoPreviewGenerator(VideoPreviewSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
    }

    /// <inheritdoc />
    public string Name => "video (ffmpeg)";

    /// <inheritdoc />
    public string? Sniff(ReadOnlySpan<byte> header) => VideoContentSniffer.Sniff(header);

    /// <inheritdoc />
    public async ValueTask<PreviewResult> GenerateAsync(string path, PreviewOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        PreviewInput.ThrowIfUnusable(options);

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.Timeout);
        var input = await PreviewInput.OpenAsync(path, options, Sniff, "a video format this plugin previews", deadline.Token).ConfigureAwait(false);
        if (input.Failure is { } failure)
        {
            return failure;
        }

        // FFMpegCore falls back to PATH when a binary is missing from the folder: insist on the configured one.
        foreach (var tool in new[] { "ffprobe", "ffmpeg" })
        {
            if (!File.Exists(Path.Combine(_settings.BinaryFolder, tool)))
            {
                return PreviewResult.None(PreviewFailureKind.ToolFailed, $"{tool} was not found in '{_settings.BinaryFolder}'; install ffmpeg.");
            }
        }

        var scratch = Directory.CreateTempSubdirectory("messenger-video-preview-");
        try
        {
            // ffmpeg sees a plain link name: no quotes to break its command line, no "protocol:" prefix to interpret.
            var link = Path.Combine(scratch.FullName, "input");
            File.CreateSymbolicLink(link, Path.GetFullPath(path));
            return await GenerateAsync(link, input.MediaType!, options, scratch.FullName, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return cancellationToken.IsCancellationRequested
                ? PreviewResult.None(PreviewFailureKind.Timeout, "The thumbnail was cancelled by the caller; ffmpeg was stopped.")
                : PreviewResult.None(PreviewFailureKind.Timeout, $"The thumbnail took longer than {options.Timeout.TotalSeconds:0.###} s; ffmpeg was stopped.");
        }
        catch (Exception error) when (error is FFMpegProcessException or FFProbeProcessException or FormatNullException)
        {
            // ffprobe and ffmpeg exit non-zero, or find no container format, on input they cannot demux or decode.
            return PreviewResult.None(PreviewFailureKind.Corrupt, "ffmpeg could not read the video: " + LastLine(error.Message));
        }
        catch (FFMpegException error)
        {
            return PreviewResult.None(PreviewFailureKind.ToolFailed, "ffmpeg failed: " + LastLine(error.Message));
        }
        catch (System.Text.Json.JsonException error)
        {
            return PreviewResult.None(PreviewFailureKind.ToolFailed, "ffprobe's output could not be parsed: " + error.Message);
        }
        catch (Exception error) when (error is Win32Exception or InstanceException)
        {
            return PreviewResult.None(PreviewFailureKind.ToolFailed, "ffmpeg could not be run: " + error.Message);
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
    }

    private async Task<PreviewResult> GenerateAsync(string path, string mediaType, PreviewOptions options, string scratch, CancellationToken cancellationToken)
    {
        var analysis = await RunStageAsync(
            token => FFProbe.AnalyseAsync(path, FFOptions(), customArguments: null, token),
            cancellationToken).ConfigureAwait(false);
        if (analysis.PrimaryVideoStream is not { } video)
        {
            return PreviewResult.None(PreviewFailureKind.Unsupported, "The file has no video stream.");
        }

        if (video is not { Width: { } width, Height: { } height })
        {
            return PreviewResult.None(PreviewFailureKind.Corrupt, "ffprobe found a video stream without a picture size.");
        }

        if ((long)width * height > options.MaxInputPixels)
        {
            return PreviewResult.None(
                PreviewFailureKind.TooLarge,
                $"The video is {width}×{height} pixels, over the limit of {options.MaxInputPixels} pixels.");
        }

        var duration = analysis.Duration > TimeSpan.Zero ? analysis.Duration : (TimeSpan?)null;
        var frame = Path.Combine(scratch, "frame.png");
        var thumbnail = Path.Combine(scratch, _settings.Format == VideoThumbnailFormat.Webp ? "thumbnail.webp" : "thumbnail.jpg");
        // ffmpeg writes no frame when the seek lands past the last one, so fall back to the first frame.
        if (!await ExtractFrameAsync(path, FramePosition(duration, video.AverageFrameRate), options, frame, thumbnail, cancellationToken).ConfigureAwait(false)
            && !await ExtractFrameAsync(path, TimeSpan.Zero, options, frame, thumbnail, cancellationToken).ConfigureAwait(false))
        {
            return PreviewResult.None(PreviewFailureKind.Corrupt, "ffmpeg decoded no frame from the video stream.");
        }

        var encoded = await EncodeUnderCapAsync(frame, thumbnail, scratch, options.MaxThumbnailBytes, cancellationToken).ConfigureAwait(false);
        if (encoded is null)
        {
            return PreviewResult.None(
                PreviewFailureKind.ToolFailed,
                $"No thumbnail fits in {options.MaxThumbnailBytes} bytes, even at quality {_settings.MinimumQuality} and reduced size.");
        }

        // ffmpeg turns the picture upright from the stream's display matrix, so the source's shown size swaps too.
        var quarterTurn = Math.Abs(video.Rotation) % 180 == 90;
        return PreviewResult.Success(new Contracts.Previews.Preview
        {
            Thumbnail = encoded.Value.Bytes,
            ThumbnailMediaType = _settings.Format == VideoThumbnailFormat.Webp ? "image/webp" : "image/jpeg",
            Width = encoded.Value.Width,
            Height = encoded.Value.Height,
            SourceMediaType = mediaType,
            SourceWidth = quarterTurn ? height : width,
            SourceHeight = quarterTurn ? width : height,
            Duration = duration,
        });
    }

    private TimeSpan FramePosition(TimeSpan? duration, double frameRate)
    {
        var frame = TimeSpan.FromSeconds(frameRate > 0 ? 1 / frameRate : 0.1);
        return duration is { } known && known < _settings.FramePosition + frame ? TimeSpan.Zero : _settings.FramePosition;
    }

    // One decode gives both the lossless frame (kept for smaller retries) and the first-quality thumbnail.
    private async Task<bool> ExtractFrameAsync(
        string path, TimeSpan position, PreviewOptions options, string frame, string thumbnail, CancellationToken cancellationToken)
    {
        // Never enlarge; ffmpeg's scale keeps the aspect and rounds to whole pixels.
        var scale = string.Create(
            CultureInfo.InvariantCulture,
            $"scale=w='min({options.MaxWidth},iw)':h='min({options.MaxHeight},ih)':force_original_aspect_ratio=decrease,setsar=1");
        await RunStageAsync(
            token => FFMpegArguments
                .FromFileInput(path, verifyExists: false, input => input.WithStartTime(position))
                .OutputToFile(thumbnail, overwrite: true, output => output
                    .WithCustomArgument($"-filter_complex \"[0:v:0]{scale},split=2[frame][thumbnail]\"")
                    .WithCustomArgument($"-map \"[frame]\" -frames:v 1 -map_metadata -1 \"{frame}\"")
                    .WithCustomArgument("-map \"[thumbnail]\" -frames:v 1 " + EncoderArguments(_settings.Quality)))
                .CancellableThrough(token, TimeSpan.Zero)
                .ProcessAsynchronously(throwOnError: true, FFOptions(), CancellationToken.None),
            cancellationToken).ConfigureAwait(false);
        return File.Exists(frame) && new FileInfo(frame).Length > 0 && File.Exists(thumbnail);
    }

    private async Task<(byte[] Bytes, int Width, int Height)?> EncodeUnderCapAsync(
        string frame, string thumbnail, string scratch, int maxBytes, CancellationToken cancellationToken)
    {
        for (var shrink = 0; shrink <= MaxShrinks; shrink++)
        {
            var (width, height) = PngSize(frame);
            for (var quality = _settings.Quality; ; quality = Math.Max(_settings.MinimumQuality, quality - QualityStep))
            {
                // The frame extraction already encoded the full-size, first-quality thumbnail.
                if (shrink > 0 || quality != _settings.Quality)
                {
                    await EncodeAsync(frame, thumbnail, quality, cancellationToken).ConfigureAwait(false);
                }

                var bytes = await File.ReadAllBytesAsync(thumbnail, cancellationToken).ConfigureAwait(false);
                if (bytes.Length <= maxBytes)
                {
                    return (bytes, width, height);
                }

                if (quality == _settings.MinimumQuality)
                {
                    break;
                }
            }

            if (width == 1 && height == 1)
            {
                return null;
            }

            var smaller = Path.Combine(scratch, $"frame-{shrink}.png");
            await RunStageAsync(
                token => FFMpegArguments
                    .FromFileInput(frame, verifyExists: false)
                    .OutputToFile(smaller, overwrite: true, output => output
                        .WithCustomArgument("-vf \"scale=w='max(1,trunc(iw*3/4))':h='max(1,trunc(ih*3/4))'\""))
                    .CancellableThrough(token, TimeSpan.Zero)
                    .ProcessAsynchronously(throwOnError: true, FFOptions(), CancellationToken.None),
                cancellationToken).ConfigureAwait(false);
            frame = smaller;
        }

        return null;
    }

    private Task<FFMpegResult> EncodeAsync(string frame, string thumbnail, int quality, CancellationToken cancellationToken) =>
        RunStageAsync(
            token => FFMpegArguments
                .FromFileInput(frame, verifyExists: false)
                .OutputToFile(thumbnail, overwrite: true, output => output.WithCustomArgument(EncoderArguments(quality)))
                .CancellableThrough(token, TimeSpan.Zero)
                .ProcessAsynchronously(throwOnError: true, FFOptions(), CancellationToken.None),
            cancellationToken);

    private string EncoderArguments(int quality) =>
        _settings.Format == VideoThumbnailFormat.Webp
            ? string.Create(CultureInfo.InvariantCulture, $"-c:v libwebp -quality {quality} -map_metadata -1")
            // mjpeg's scale runs from 2 (best) to 31 (worst).
            : string.Create(CultureInfo.InvariantCulture, $"-c:v mjpeg -q:v {2 + ((100 - quality) * 29 / 99)} -map_metadata -1");

    // Each process gets its own token source, disposed when it ends, so no kill callback outlives its process.
    private static async Task<T> RunStageAsync<T>(Func<CancellationToken, Task<T>> stage, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var stageToken = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // FFMpegCore first runs a blocking "-version" check once per binary; a pool thread keeps even that within the timeout.
        var run = Task.Run(() => stage(stageToken.Token), CancellationToken.None);
        try
        {
            return await run.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!run.IsCompleted)
        {
            // The wait can end, and dispose the linked source, before it is cancelled: cancel it so the process is killed.
            await stageToken.CancelAsync().ConfigureAwait(false);
            throw;
        }
    }

    private FFOptions FFOptions() => new() { BinaryFolder = _settings.BinaryFolder, LogLevel = FFMpegLogLevel.Error };

    // PNG: signature, then the IHDR chunk whose data opens with big-endian width and height.
    private static (int Width, int Height) PngSize(string png)
    {
        Span<byte> header = stackalloc byte[24];
        using var stream = File.OpenRead(png);
        stream.ReadExactly(header);
        return (BinaryPrimitives.ReadInt32BigEndian(header[16..]), BinaryPrimitives.ReadInt32BigEndian(header[20..]));
    }

    private static string LastLine(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? text;
}
