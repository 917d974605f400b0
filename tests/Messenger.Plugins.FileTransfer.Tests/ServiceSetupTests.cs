using Messenger.Contracts.FileTransfer;
using Messenger.Contracts.Framing;
using Messenger.Contracts.Previews;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;

namespace Messenger.Plugins.FileTransfer.Tests;

public sealed class ServiceSetupTests
{
    [Fact]
    public void ConfigureServices_Settings_BoundAndRegistered()
    {
        var services = new ServiceCollection();
        var settings = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["chunkSize"] = "65536",
            ["autoAcceptMaxBytes"] = "1000000",
            ["keepPartialOnCancel"] = "true",
            ["progressIntervalMilliseconds"] = "250",
        }).Build();

        new FileTransferPlugin().ConfigureServices(services, settings);

        var options = (FileTransferOptions)services.Single(d => d.ServiceType == typeof(FileTransferOptions)).ImplementationInstance!;
        Assert.Equal(65536, options.ChunkSize);
        Assert.Equal(1_000_000, options.AutoAcceptMaxBytes);
        Assert.True(options.KeepPartialOnCancel);
        Assert.Equal(TimeSpan.FromMilliseconds(250), options.ProgressInterval);
        Assert.Contains(services, d => d.ServiceType == typeof(IFileTransferService));
        Assert.Contains(services, d => d.ServiceType == typeof(IFrameHandler));
        Assert.Contains(services, d => d.ServiceType == typeof(IPeerSessionObserver));
    }

    [Theory]
    [InlineData("chunkSize", "big", "whole number")]
    [InlineData("chunkSize", "100", "1 KiB to 16 MiB")]
    [InlineData("keepPartialOnCancel", "maybe", "true or false")]
    [InlineData("maxPreviewBytes", "1000000", "maxPreviewBytes")]
    public void ConfigureServices_BadSetting_ThrowsNamingIt(string key, string value, string messagePart)
    {
        var settings = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [key] = value }).Build();

        var error = Assert.Throws<InvalidOperationException>(() => new FileTransferPlugin().ConfigureServices(new ServiceCollection(), settings));

        Assert.Contains(messagePart, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ProgressMeter_ReportsAtMostOncePerIntervalWithRatesAndEta()
    {
        var time = new FakeTimeProvider();
        var meter = new ProgressMeter(time, TimeSpan.FromMilliseconds(100));
        meter.Restart(0);

        time.Advance(TimeSpan.FromMilliseconds(50));
        Assert.Null(meter.TryReport("t", 50_000, 1_000_000, force: false));
        time.Advance(TimeSpan.FromMilliseconds(50));
        var first = meter.TryReport("t", 100_000, 1_000_000, force: false);
        for (var i = 2; i <= 20; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(100));
            _ = meter.TryReport("t", i * (i <= 10 ? 100_000L : 20_000L) + (i > 10 ? 800_000L : 0), 3_000_000, force: false);
        }

        Assert.NotNull(first);
        Assert.Equal(1_000_000, first!.AverageBytesPerSecond, 1);
        Assert.Equal(1_000_000, first.InstantBytesPerSecond, 1);
        Assert.Equal(TimeSpan.FromSeconds(0.9), first.EstimatedRemaining!.Value);
        time.Advance(TimeSpan.FromMilliseconds(100));
        var slow = meter.TryReport("t", 1_220_000, 3_000_000, force: false)!;
        // The last second moved 200 KB; the whole 2.1 s moved 1.22 MB.
        Assert.Equal(200_000, slow.InstantBytesPerSecond, 1);
        Assert.Equal(1_220_000 / 2.1, slow.AverageBytesPerSecond, 1);
        Assert.Equal(TimeSpan.FromSeconds(1_780_000 / 200_000.0), slow.EstimatedRemaining!.Value);
        Assert.NotNull(meter.TryReport("t", 3_000_000, 3_000_000, force: true));
    }

    [Fact]
    public async Task SendFileAsync_PreviewGeneratorRecognisesFile_OfferCarriesThumbnail()
    {
        var generator = new FixedPreviewGenerator();
        await using var pair = await TransferPair.StartAsync(a: new SideOptions
        {
            Transfer = TransferPair.Small(),
            Services = s => s.TryAddEnumerable(ServiceDescriptor.Singleton<IPreviewGenerator>(generator)),
        });
        var path = pair.Folder.Combine("pic.xyz");
        await File.WriteAllBytesAsync(path, [0x89, (byte)'X', (byte)'Y', (byte)'Z', 1, 2, 3]);

        await pair.TransfersA.SendFileAsync(path);

        var offered = await pair.EventsB.WaitForAsync<TransferOffered>();
        Assert.Equal("image/x-test", offered.Transfer.MediaType);
        Assert.Equal(new byte[] { 9, 8, 7 }, offered.Transfer.Preview!.Thumbnail);
        Assert.Equal(12, offered.Transfer.Preview.Width);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), offered.Transfer.Preview.Duration);
        Assert.Equal(path, generator.GeneratedFor);
    }

    private sealed class FixedPreviewGenerator : IPreviewGenerator
    {
        public string? GeneratedFor { get; private set; }

        public string Name => "fixed";

        public string? Sniff(ReadOnlySpan<byte> header) => header is [0x89, (byte)'X', (byte)'Y', (byte)'Z', ..] ? "image/x-test" : null;

        public ValueTask<PreviewResult> GenerateAsync(string path, PreviewOptions options, CancellationToken cancellationToken = default)
        {
            GeneratedFor = path;
            return ValueTask.FromResult(PreviewResult.Success(new Preview
            {
                Thumbnail = [9, 8, 7], ThumbnailMediaType = "image/jpeg", Width = 12, Height = 10, SourceMediaType = "image/x-test", Duration = TimeSpan.FromMilliseconds(1500),
            }));
        }
    }
}
