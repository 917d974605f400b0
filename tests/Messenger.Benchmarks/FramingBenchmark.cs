using System.Diagnostics;
using System.Globalization;
using MessagePack;
using Messenger.Contracts.Framing;
using Messenger.Host.Framing;

namespace Messenger.Benchmarks;

/// <summary>Frame encode and decode (with full body validation) throughput, by body size.</summary>
internal static class FramingBenchmark
{
    public static Task RunAsync()
    {
        var table = new Table("body", "encode MB/s", "decode+validate MB/s", "decode frames/s");
        foreach (var size in new[] { 64, 1024, 16 * 1024, 64 * 1024, 256 * 1024 - 64 })
        {
            var body = MessagePackSerializer.Serialize(new object[] { "transfer", 12345L, 0xdeadbeefu, new byte[size] });
            var kind = new FrameKind(120);
            var frame = FrameCodec.Encode(kind, body);
            var iterations = (int)Math.Max(1000, 2_000_000_000L / Math.Max(frame.Length, 1) / 10);

            var encode = Stopwatch.StartNew();
            for (var i = 0; i < iterations; i++)
            {
                var (buffer, _) = FrameCodec.EncodePooled(kind, body);
                System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            }

            encode.Stop();
            var decode = Stopwatch.StartNew();
            for (var i = 0; i < iterations; i++)
            {
                if (!FrameCodec.TryDecode(frame, int.MaxValue, out _, out _, out var error))
                {
                    throw new InvalidOperationException(error);
                }
            }

            decode.Stop();
            var bytes = (double)frame.Length * iterations;
            table.Add(
                size.ToString(CultureInfo.InvariantCulture),
                (bytes / encode.Elapsed.TotalSeconds / 1e6).ToString("F0", CultureInfo.InvariantCulture),
                (bytes / decode.Elapsed.TotalSeconds / 1e6).ToString("F0", CultureInfo.InvariantCulture),
                (iterations / decode.Elapsed.TotalSeconds).ToString("N0", CultureInfo.InvariantCulture));
        }

        table.Print();
        return Task.CompletedTask;
    }
}
