using Messenger.Contracts.Chat;
using Messenger.Contracts.FileTransfer;
using Messenger.Contracts.Storage;
using Messenger.Host;
using Messenger.Host.Sessions;
using Messenger.Plugins.Storage.Folder;
using Messenger.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Messenger.Plugins.FileTransfer.Tests;

/// <summary>How one side of a <see cref="TransferPair"/> is built.</summary>
internal sealed record SideOptions
{
    public Action<FileTransferOptions>? Transfer { get; init; }

    /// <summary>Adds or replaces services after the plugins (a raw peer, a failing store, a pattern source).</summary>
    public Action<IServiceCollection>? Services { get; init; }

    /// <summary>True for the default SQLCipher store (a raw key file), false for the folder store.</summary>
    public bool SqlCipher { get; init; }

    /// <summary>False for a raw peer: no file-transfer plugin, frames are crafted by the test.</summary>
    public bool WithFileTransfer { get; init; } = true;
}

/// <summary>
/// Two complete hosts, each with the file-transfer plugin and its own folder store, joined by an in-memory channel
/// pair. The store folders outlive <see cref="RestartAsync"/>, which simulates both processes restarting.
/// </summary>
internal sealed class TransferPair : IAsyncDisposable
{
    private readonly TempFolder _folder = new();
    private readonly SideOptions _a;
    private readonly SideOptions _b;
    private readonly InMemoryChannelOptions _link;

    private TransferPair(SideOptions a, SideOptions b, InMemoryChannelOptions link)
    {
        _a = a;
        _b = b;
        _link = link;
    }

    public IHost A { get; private set; } = null!;

    public IHost B { get; private set; } = null!;

    public InMemoryChannelPair Channels { get; private set; } = null!;

    public PeerSession SessionA { get; private set; } = null!;

    public PeerSession SessionB { get; private set; } = null!;

    public TransferEventLog EventsA { get; private set; } = null!;

    public TransferEventLog EventsB { get; private set; } = null!;

    public TempFolder Folder => _folder;

    public IFileTransferService TransfersA => A.Services.GetRequiredService<IFileTransferService>();

    public IFileTransferService TransfersB => B.Services.GetRequiredService<IFileTransferService>();

    public string DownloadsB => _folder.Combine("b", "downloads");

    public static async Task<TransferPair> StartAsync(InMemoryChannelOptions? link = null, SideOptions? a = null, SideOptions? b = null)
    {
        var pair = new TransferPair(a ?? new SideOptions(), b ?? new SideOptions(), link ?? new InMemoryChannelOptions());
        pair.Build();
        await pair.ConnectAsync();
        return pair;
    }

    public static Action<FileTransferOptions> Small(Action<FileTransferOptions>? more = null) => o =>
    {
        o.ChunkSize = 1024;
        o.AckIntervalBytes = 64 * 1024;
        more?.Invoke(o);
    };

    public FileTransferService ServiceA => A.Services.GetRequiredService<FileTransferService>();

    public FileTransferService ServiceB => B.Services.GetRequiredService<FileTransferService>();

    public IFileStore FilesB => B.Services.GetRequiredService<IFileStore>();

    public IChatService ChatA => A.Services.GetRequiredService<IChatService>();

    /// <summary>Opens a new channel pair and starts a session on each host, as after a reconnect.</summary>
    public async Task ConnectAsync()
    {
        Channels = InMemoryChannelPair.Create(_link);
        (SessionA, _) = await A.Services.GetRequiredService<PeerSessionHost>().StartAsync(Channels.A, "peer-b");
        (SessionB, _) = await B.Services.GetRequiredService<PeerSessionHost>().StartAsync(Channels.B, "peer-a");
    }

    /// <summary>Drops the connection and waits until both hosts have seen their sessions end.</summary>
    public async Task DisconnectAsync()
    {
        Channels.Disconnect();
        await WhenEndedAsync(SessionA);
        await WhenEndedAsync(SessionB);
    }

    /// <summary>Stops both hosts (after the connection dropped) and starts new ones over the same store folders.</summary>
    public async Task RestartAsync()
    {
        await DisconnectAsync();
        await Channels.DisposeAsync();
        A.Dispose();
        B.Dispose();
        Build();
        await ConnectAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await Channels.DisposeAsync();
        A.Dispose();
        B.Dispose();
        _folder.Dispose();
    }

    private static async Task WhenEndedAsync(PeerSession session)
    {
        var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (session.Ended.Register(() => ended.TrySetResult()))
        {
            await ended.Task.WaitAsync(TimeSpan.FromSeconds(10));
        }

        // The observers run just after Ended is cancelled; the paused events say when they are done.
        await Task.Delay(50);
    }

    private void Build()
    {
        A = BuildHost("a", _a);
        B = BuildHost("b", _b);
        EventsA = _a.WithFileTransfer ? new TransferEventLog(TransfersA) : null!;
        EventsB = _b.WithFileTransfer ? new TransferEventLog(TransfersB) : null!;
    }

    private IHost BuildHost(string name, SideOptions side) => TestHosts.Build(_folder, name, side);
}
