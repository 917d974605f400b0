using System.Diagnostics;
using System.Security.Cryptography;

namespace Messenger.Cli.Demo;

/// <summary>Makes the demo's attachments when none is given: an image and a short video with ffmpeg, and a large file.</summary>
internal static class DemoMedia
{
    private static readonly string[] QuietOverwrite = ["-v", "error", "-y"];

    public static async Task<string> ImageAsync(string folder, CancellationToken cancellationToken)
    {
        var path = Path.Combine(folder, "holiday-photo.jpg");
        await FfmpegAsync(cancellationToken, "-f", "lavfi", "-i", "testsrc2=size=4000x3000", "-frames:v", "1", "-q:v", "3", path);
        return path;
    }

    public static async Task<string> VideoAsync(string folder, CancellationToken cancellationToken)
    {
        var path = Path.Combine(folder, "clip.mp4");
        await FfmpegAsync(cancellationToken, "-f", "lavfi", "-i", "testsrc=size=1280x720:rate=30:duration=4", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast", path);
        return path;
    }

    /// <summary>A file of random bytes, written in 1 MiB blocks so memory stays flat whatever the size.</summary>
    public static async Task<string> LargeFileAsync(string folder, long size, CancellationToken cancellationToken)
    {
        var path = Path.Combine(folder, "archive.bin");
        var block = new byte[1024 * 1024];
        await using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1024 * 1024, FileOptions.Asynchronous);
        for (long written = 0; written < size; written += block.Length)
        {
            RandomNumberGenerator.Fill(block);
            await stream.WriteAsync(block.AsMemory(0, (int)Math.Min(block.Length, size - written)), cancellationToken);
        }

        return path;
    }

    public static async Task<byte[]> Sha256Async(Stream stream, CancellationToken cancellationToken) =>
        await SHA256.HashDataAsync(stream, cancellationToken);

    private static async Task FfmpegAsync(CancellationToken cancellationToken, params string[] args)
    {
        var start = new ProcessStartInfo("ffmpeg") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in QuietOverwrite.Concat(args))
        {
            start.ArgumentList.Add(arg);
        }

        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new CliException($"The demo makes its sample media with ffmpeg, which could not be started ({ex.Message}); install it (apt-get install ffmpeg) or pass --file.");
        }

        using (process)
        {
            var errors = process.StandardError.ReadToEndAsync(cancellationToken);
            await process.WaitForExitAsync(cancellationToken);
            if (process.ExitCode != 0)
            {
                throw new CliException($"ffmpeg could not make the demo media: {(await errors).Trim()}");
            }
        }
    }
}
