using Messenger.Contracts.FileTransfer;
using Messenger.Contracts.Storage;
using Messenger.Plugins.Storage.Folder;
using Messenger.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Messenger.Plugins.FileTransfer.Tests;

public sealed class RobustnessTests
{
    [Fact]
    public async Task Receive_StoreFullMidway_FailsCleanlyOnBothSides()
    {
        await using var pair = await TransferPair.StartAsync(b: new SideOptions
        {
            Transfer = TransferPair.Small(o => o.AutoAcceptMaxBytes = long.MaxValue),
            Services = s => s.Replace(ServiceDescriptor.Singleton<IFileStore>(sp => new FailingFileStore(sp.GetRequiredService<FolderStore>().Files, failAtBytes: 8 * 1024))),
        });
        var id = (await pair.TransfersA.SendFileAsync(pair.Folder.WritePatternFile("f.bin", 50_000))).TransferId;

        var atB = Assert.IsType<TransferFailed>(await pair.EventsB.WaitForEndAsync(id));
        var atA = Assert.IsType<TransferFailed>(await pair.EventsA.WaitForEndAsync(id));
        Assert.Contains("No space left on device", atB.Transfer.Reason, StringComparison.Ordinal);
        Assert.Contains("the peer failed", atA.Transfer.Reason, StringComparison.Ordinal);
        Assert.Contains("No space left on device", atA.Transfer.Reason, StringComparison.Ordinal);
        Assert.Empty(await TransferTests.ListStoredAsync(pair.FilesB));
        Assert.Equal(TransferState.Failed, (await pair.B.Services.GetRequiredService<IMessageStore>().GetTransferAsync(id))!.State);
    }

    [Fact]
    public async Task Send_SourceFileShrinksAfterOffer_FailsCleanlyOnBothSides()
    {
        await using var pair = await TransferPair.StartAsync();
        var path = pair.Folder.WritePatternFile("f.bin", 50_000);
        var id = (await pair.TransfersA.SendFileAsync(path)).TransferId;
        await pair.EventsB.WaitForAsync<TransferOffered>();
        await File.WriteAllBytesAsync(path, new byte[100]);

        await pair.TransfersB.AcceptAsync(id);

        var atA = Assert.IsType<TransferFailed>(await pair.EventsA.WaitForEndAsync(id));
        var atB = Assert.IsType<TransferFailed>(await pair.EventsB.WaitForEndAsync(id));
        Assert.Contains("could not read the file", atA.Transfer.Reason, StringComparison.Ordinal);
        Assert.Contains("could not read the file", atB.Transfer.Reason, StringComparison.Ordinal);
        Assert.Empty(await TransferTests.ListStoredAsync(pair.FilesB));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Transfer_LossyLink_NeverReportsACorruptFileAsVerified(int seed)
    {
        var link = new InMemoryChannelOptions { LossRate = 0.01, ReorderRate = 0.01, Seed = seed };
        await using var pair = await TransferPair.StartAsync(link, b: new SideOptions { Transfer = TransferPair.Small(o => o.AutoAcceptMaxBytes = long.MaxValue) });
        var path = pair.Folder.WritePatternFile("lossy.bin", 300_000, seed);
        var id = (await pair.TransfersA.SendFileAsync(path)).TransferId;

        TransferEvent? end = null;
        try
        {
            end = await pair.EventsB.WaitForEndAsync(id, seconds: 3);
        }
        catch (TimeoutException)
        {
            // A lost control frame (the offer, the accept) leaves the transfer waiting; that is not a corrupt file.
        }

        var stored = await TransferTests.ListStoredAsync(pair.FilesB);
        Console.WriteLine($"lossy seed {seed}: {end?.GetType().Name ?? "no end within 3 s"} ({end?.Transfer.Reason}); dropped {pair.Channels.A.MessagesDropped + pair.Channels.B.MessagesDropped} messages");
        if (end is TransferCompleted completed)
        {
            Assert.Equal(await File.ReadAllBytesAsync(path), await TransferTests.ReadStoredAsync(pair.FilesB, completed.Transfer.FileId!));
        }
        else
        {
            Assert.DoesNotContain(stored, f => f.IsComplete);
            Assert.DoesNotContain(pair.EventsA.Events, e => e is TransferCompleted);
        }

        if (end is TransferFailed failed)
        {
            Assert.Contains("lost data", failed.Transfer.Reason, StringComparison.Ordinal);
            Assert.Empty(stored);
        }
    }

}
