using System.Reflection;
using McMaster.NETCore.Plugins;
using Messenger.Contracts.Plugins;
using Messenger.Contracts.Previews;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Messenger.Plugins.Preview.Tests;

/// <summary>
/// Loads each preview plugin the way the host does: from its folder under artifacts/plugins, in its own load context,
/// sharing only the contracts and the Microsoft.Extensions abstractions.
/// </summary>
public sealed class PluginLoadingTests(ImageSamples images, VideoSamples videos) : IClassFixture<ImageSamples>, IClassFixture<VideoSamples>
{
    [Fact]
    public async Task ImagePlugin_LoadedFromArtifacts_GeneratesThumbnailWithItsOwnLibvips()
    {
        using var loader = PluginLoader.CreateFromAssemblyFile(
            PluginAssemblyPath("Messenger.Plugins.Preview.Image"),
            sharedTypes: [typeof(IPreviewGenerator), typeof(IServiceCollection), typeof(IConfiguration)]);
        var assembly = loader.LoadDefaultAssembly();
        using var services = ConfigurePlugin(assembly, new Dictionary<string, string?> { ["Format"] = "jpeg" });

        var generator = Assert.Single(services.GetServices<IPreviewGenerator>());
        var result = await generator.GenerateAsync(images.Jpeg, new PreviewOptions());

        Assert.True(result.Succeeded, $"{result.Failure}: {result.Reason}");
        Assert.Equal("image/jpeg", result.Preview!.ThumbnailMediaType);
        Assert.Equal(300, result.Preview.Width);
        // The plugin's NetVips is its own copy, not the one the tests load: the load context isolation is real.
        var pluginNetVips = assembly.GetReferencedAssemblies().Single(name => name.Name == "NetVips");
        Assert.NotSame(typeof(NetVips.Image).Assembly, loader.LoadAssembly(pluginNetVips));
        var nativeLibvips = Path.Combine(Path.GetDirectoryName(assembly.Location)!, "runtimes", "linux-x64", "native", "libvips.so.42");
        Assert.Contains(nativeLibvips, await File.ReadAllTextAsync("/proc/self/maps"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task VideoPlugin_LoadedFromArtifacts_GeneratesThumbnail()
    {
        using var loader = PluginLoader.CreateFromAssemblyFile(
            PluginAssemblyPath("Messenger.Plugins.Preview.Video"),
            sharedTypes: [typeof(IPreviewGenerator), typeof(IServiceCollection), typeof(IConfiguration)]);
        using var services = ConfigurePlugin(loader.LoadDefaultAssembly(), new Dictionary<string, string?> { ["BinaryFolder"] = "/usr/bin" });

        var generator = Assert.Single(services.GetServices<IPreviewGenerator>());
        var result = await generator.GenerateAsync(videos.Mp4, new PreviewOptions());

        Assert.True(result.Succeeded, $"{result.Failure}: {result.Reason}");
        Assert.Equal("video/mp4", result.Preview!.SourceMediaType);
        Assert.Equal(300, result.Preview.Width);
    }

    [Fact]
    public void BothPlugins_InOneContainer_EachSniffsOnlyItsOwnContent()
    {
        var shared = new[] { typeof(IPreviewGenerator), typeof(IServiceCollection), typeof(IConfiguration) };
        using var imageLoader = PluginLoader.CreateFromAssemblyFile(PluginAssemblyPath("Messenger.Plugins.Preview.Image"), sharedTypes: shared);
        using var videoLoader = PluginLoader.CreateFromAssemblyFile(PluginAssemblyPath("Messenger.Plugins.Preview.Video"), sharedTypes: shared);
        var services = new ServiceCollection();
        var configuration = new ConfigurationBuilder().Build();
        foreach (var assembly in new[] { imageLoader.LoadDefaultAssembly(), videoLoader.LoadDefaultAssembly() })
        {
            var entry = (IMessengerPlugin)Activator.CreateInstance(assembly.GetCustomAttribute<MessengerPluginAttribute>()!.EntryType)!;
            entry.ConfigureServices(services, configuration);
            // A plugin configured twice must not register its generator twice.
            entry.ConfigureServices(services, configuration);
        }

        using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        var generators = provider.GetServices<IPreviewGenerator>().ToList();

        Assert.Equal(2, generators.Count);
        var jpegHeader = File.ReadAllBytes(images.Jpeg).AsSpan(0, PreviewOptions.SniffLength).ToArray();
        var mp4Header = File.ReadAllBytes(videos.Mp4).AsSpan(0, PreviewOptions.SniffLength).ToArray();
        Assert.Equal(["image/jpeg"], generators.Select(generator => generator.Sniff(jpegHeader)).OfType<string>());
        Assert.Equal(["video/mp4"], generators.Select(generator => generator.Sniff(mp4Header)).OfType<string>());
    }

    internal static string PluginAssemblyPath(string name)
    {
        var repoRoot = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(repoRoot, "Messenger.sln")))
        {
            repoRoot = Path.GetDirectoryName(repoRoot.TrimEnd(Path.DirectorySeparatorChar))
                ?? throw new InvalidOperationException("The tests run outside the repository: Messenger.sln not found above " + AppContext.BaseDirectory);
        }

        var path = Path.Combine(repoRoot, "artifacts", "plugins", name, name + ".dll");
        Assert.True(File.Exists(path), $"build the plugin first: {path} is missing");
        return path;
    }

    internal static ServiceProvider ConfigurePlugin(Assembly assembly, Dictionary<string, string?> settings)
    {
        var attribute = assembly.GetCustomAttribute<MessengerPluginAttribute>();
        Assert.NotNull(attribute);
        var entry = (IMessengerPlugin)Activator.CreateInstance(attribute.EntryType)!;
        var services = new ServiceCollection();
        entry.ConfigureServices(services, new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }
}
