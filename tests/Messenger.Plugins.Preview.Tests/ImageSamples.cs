using NetVips;
using VipsImage = NetVips.Image;

namespace Messenger.Plugins.Preview.Tests;

/// <summary>Test images made with libvips once per test class: one picture saved in every format the plugin previews.</summary>
public sealed class ImageSamples : IDisposable
{
    public const int Width = 1600;
    public const int Height = 900;

    private readonly TemporaryDirectory _directory = new();

    public ImageSamples()
    {
        using var picture = Gradient(Width, Height);
        Jpeg = Save(picture, "picture.jpg");
        Save(picture, "picture.png");
        Save(picture, "picture.webp");
        Save(picture, "picture.gif");
        Save(picture, "picture.tif");
        Save(picture, "picture.avif");
        // 64 megapixels (under the 100 MP limit) that PNG cannot shrink on load: slow enough to time out.
        GreyPng.WriteGrainy(_directory.File("large.png"), 8000, 8000);
    }

    /// <summary>A 1600×900 JPEG.</summary>
    public string Jpeg { get; }

    public string Path(string name) => _directory.File(name);

    public void Dispose() => _directory.Dispose();

    /// <summary>An RGB picture whose colour changes across both axes, so encoders have real work.</summary>
    public static VipsImage Gradient(int width, int height)
    {
        using var xy = VipsImage.Xyz(width, height);
        using var x = xy[0];
        using var y = xy[1];
        using var red = x * (255.0 / width);
        using var green = y * (255.0 / height);
        using var blue = (x + y) * (255.0 / (width + height));
        using var joined = red.Bandjoin(green, blue);
        return joined.Cast(Enums.BandFormat.Uchar);
    }

    private string Save(VipsImage picture, string name)
    {
        var path = _directory.File(name);
        picture.WriteToFile(path);
        return path;
    }
}
