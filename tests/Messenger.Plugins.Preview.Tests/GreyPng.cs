using System.Buffers.Binary;
using System.IO.Compression;

namespace Messenger.Plugins.Preview.Tests;

/// <summary>Writes greyscale PNGs byte by byte: huge pictures that cost little to make.</summary>
public static class GreyPng
{
    /// <summary>
    /// A complete width×height greyscale PNG of a diagonal ramp with seeded grain: the grain keeps deflate from making
    /// decoding trivial, so a large one takes libvips real time.
    /// </summary>
    public static void WriteGrainy(string path, int width, int height)
    {
        using var png = File.Create(path);
        WriteHeader(png, width, height);
        using (var compressed = new MemoryStream())
        {
            using (var zlib = new ZLibStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
            {
                // Each row: filter type 0, then one byte per pixel.
                var row = new byte[width + 1];
                var state = 0x9E3779B9u;
                for (var y = 0; y < height; y++)
                {
                    for (var x = 0; x < width; x++)
                    {
                        state = (state * 1664525u) + 1013904223u;
                        row[x + 1] = (byte)((x + y) ^ (int)(state >> 26));
                    }

                    zlib.Write(row);
                }
            }

            WriteChunk(png, "IDAT", compressed.ToArray());
        }

        WriteChunk(png, "IEND", []);
    }

    /// <summary>A valid PNG header announcing width×height pixels followed by one compressed row: a decompression bomb's shape.</summary>
    public static byte[] HeaderWithOneRow(int width, int height)
    {
        using var png = new MemoryStream();
        WriteHeader(png, width, height);
        using (var compressed = new MemoryStream())
        {
            using (var zlib = new ZLibStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true))
            {
                zlib.Write(new byte[width + 1]);
            }

            WriteChunk(png, "IDAT", compressed.ToArray());
        }

        WriteChunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void WriteHeader(Stream png, int width, int height)
    {
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        // 8-bit greyscale, deflate, adaptive filtering, no interlace.
        header[8] = 8;
        WriteChunk(png, "IHDR", header);
    }

    private static void WriteChunk(Stream png, string type, byte[] data)
    {
        Span<byte> number = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(number, data.Length);
        png.Write(number);
        var typed = System.Text.Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        png.Write(typed);
        BinaryPrimitives.WriteUInt32BigEndian(number, Crc32(typed));
        png.Write(number);
    }

    private static uint Crc32(byte[] bytes)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var value in bytes)
        {
            crc ^= value;
            for (var bit = 0; bit < 8; bit++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
        }

        return ~crc;
    }
}
