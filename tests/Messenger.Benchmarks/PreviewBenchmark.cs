using System.Diagnostics;
using System.Globalization;
using Messenger.Contracts.Previews;
using Messenger.Plugins.Preview.Image;
using Messenger.Plugins.Preview.Video;

namespace Messenger.Benchmarks;

/// <summary>
/// Thumbnail time and memory: a 24 MP JPEG (smooth and noisy) and a 1080p 10 s H.264 video, media generated here.
/// Targets (issue 8): image under 50 ms and under 100 MB. Run alone (`preview`) so the peak RSS is this benchmark's.
/// </summary>
internal static class PreviewBenchmark
{
    private const int Runs = 10;
    private static readonly string[] Quiet = ["-v", "error", "-y"];

    public static async Task RunAsync()
    {
        var folder = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "messenger-bench-" + Guid.NewGuid().ToString("n")[..8])).FullName;
        try
        {
            var smooth = Path.Combine(folder, "smooth-24mp.jpg");
            var noisy = Path.Combine(folder, "noisy-24mp.jpg");
            var video = Path.Combine(folder, "1080p-10s.mp4");
            // Media come from ffmpeg in child processes, so this process's peak RSS is the thumbnailing's alone.
            await FfmpegAsync("-f", "lavfi", "-i", "testsrc2=size=6000x4000", "-frames:v", "1", "-q:v", "2", smooth);
            await FfmpegAsync("-f", "lavfi", "-i", "testsrc2=size=6000x4000", "-vf", "noise=alls=60:allf=u", "-frames:v", "1", "-q:v", "2", noisy);
            await FfmpegAsync("-f", "lavfi", "-i", "testsrc=size=1920x1080:rate=30:duration=10", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast", video);
            var rssBefore = PeakRssMegabytes();
            var table = new Table("input", "size", "median ms", "min ms", "max ms", "thumbnail", "process peak RSS MB");
            var image = new VipsImagePreviewGenerator(new ImagePreviewSettings());
            await MeasureAsync(table, "24 MP JPEG, smooth", smooth, image);
            await MeasureAsync(table, "24 MP JPEG, noisy", noisy, image);
            await MeasureAsync(table, "1080p 10 s H.264", video, new FFmpegVideoPreviewGenerator(new VideoPreviewSettings()));
            table.Print();
            Console.WriteLine($"(peak RSS before the first thumbnail: {rssBefore:F0} MB; media made by ffmpeg child processes; the video row excludes ffmpeg's own process)");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static async Task MeasureAsync(Table table, string name, string path, IPreviewGenerator generator)
    {
        var options = new PreviewOptions();
        var times = new List<double>();
        PreviewResult? last = null;
        for (var i = 0; i < Runs + 2; i++)
        {
            var clock = Stopwatch.StartNew();
            last = await generator.GenerateAsync(path, options);
            clock.Stop();
            if (!last.Succeeded)
            {
                throw new InvalidOperationException($"{name}: no preview: {last.Failure} {last.Reason}");
            }

            if (i >= 2)
            {
                times.Add(clock.Elapsed.TotalMilliseconds);
            }
        }

        times.Sort();
        var preview = last!.Preview!;
        table.Add(
            name,
            $"{new FileInfo(path).Length / 1e6:F1} MB",
            times[times.Count / 2].ToString("F1", CultureInfo.InvariantCulture),
            times[0].ToString("F1", CultureInfo.InvariantCulture),
            times[^1].ToString("F1", CultureInfo.InvariantCulture),
            $"{preview.Width}×{preview.Height} {preview.ThumbnailMediaType} {preview.Thumbnail.Length / 1024.0:F1} KiB",
            PeakRssMegabytes().ToString("F0", CultureInfo.InvariantCulture));
    }

    private static async Task FfmpegAsync(params string[] args)
    {
        var start = new ProcessStartInfo("ffmpeg") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in Quiet.Concat(args))
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"ffmpeg failed: {await errors}");
        }
    }

    /// <summary>The process's peak resident set (VmHWM) in MB.</summary>
    private static double PeakRssMegabytes()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
            }
        }

        return double.NaN;
    }
}
