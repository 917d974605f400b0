using System.Diagnostics;

namespace Messenger.Plugins.Preview.Tests;

/// <summary>Test videos made with the system ffmpeg once per test class.</summary>
public sealed class VideoSamples : IDisposable
{
    public const int Width = 640;
    public const int Height = 360;

    private const string TestPattern = "testsrc=size=640x360:rate=25:duration=2";
    private readonly TemporaryDirectory _directory = new();

    public VideoSamples()
    {
        Ffmpeg("-f", "lavfi", "-i", TestPattern, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", Path("clip.mp4"));
        Ffmpeg("-f", "lavfi", "-i", TestPattern, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", Path("clip.mov"));
        Ffmpeg("-f", "lavfi", "-i", TestPattern, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", Path("clip.mkv"));
        Ffmpeg("-f", "lavfi", "-i", TestPattern, "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "500k", Path("clip.webm"));
        Ffmpeg("-f", "lavfi", "-i", TestPattern, "-c:v", "mpeg4", Path("clip.avi"));
        Ffmpeg("-f", "lavfi", "-i", TestPattern, "-c:v", "mpeg2video", "-f", "vob", Path("clip.mpg"));
        // Red for the first second, then blue: the frame at 1 s must be blue.
        Ffmpeg(
            "-f", "lavfi", "-i", "color=c=red:size=320x240:rate=25:duration=1",
            "-f", "lavfi", "-i", "color=c=blue:size=320x240:rate=25:duration=2",
            "-filter_complex", "[0][1]concat=n=2:v=1:a=0", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", Path("red-then-blue.mp4"));
        Ffmpeg("-f", "lavfi", "-i", "color=c=green:size=320x240:rate=25:duration=0.4", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", Path("short-green.mp4"));
        Ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "aac", Path("audio-only.mp4"));
        Ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "libvorbis", Path("audio-only.webm"));
    }

    /// <summary>A two-second 640×360 H.264 MP4.</summary>
    public string Mp4 => Path("clip.mp4");

    public string Path(string name) => _directory.File(name);

    public void Dispose() => _directory.Dispose();

    public static void Ffmpeg(params string[] arguments)
    {
        var start = new ProcessStartInfo("/usr/bin/ffmpeg") { RedirectStandardError = true };
        foreach (var argument in new[] { "-hide_banner", "-v", "error", "-y" }.Concat(arguments))
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"ffmpeg {string.Join(' ', arguments)} failed: {errors}");
        }
    }
}
