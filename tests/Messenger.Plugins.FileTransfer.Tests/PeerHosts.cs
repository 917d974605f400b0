using System.Collections.Concurrent;
using MessagePack;
using Messenger.Contracts.FileTransfer;
using Messenger.Contracts.Framing;
using Messenger.Host.Sessions;
using Messenger.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Messenger.Plugins.FileTransfer.Tests;

/// <summary>
/// Several named hosts, each its own profile (store folders under one temp folder), any two of which can be joined by
/// an in-memory channel pair: one profile that talks to Bob and later to Carol, as a user's does.
/// </summary>
internal sealed class PeerHosts : IAsyncDisposable
{
    private readonly Dictionary<string, IHost> _hosts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TransferEventLog> _events = new(StringComparer.Ordinal);
    private readonly List<PeerLink> _links = [];

    public TempFolder Folder { get; } = new();

    public IHost Add(string name, SideOptions side)
    {
        var host = TestHosts.Build(Folder, name, side);
        _hosts.Add(name, host);
        if (side.WithFileTransfer)
        {
            _events.Add(name, new TransferEventLog(host.Services.GetRequiredService<IFileTransferService>()));
        }

        return host;
    }

    public IHost this[string name] => _hosts[name];

    /// <summary>Stops one host (its connections must have ended) and starts it again over the same store folders.</summary>
    public void Restart(string name, SideOptions side)
    {
        _hosts[name].Dispose();
        _hosts.Remove(name);
        _events.Remove(name);
        Add(name, side);
    }

    public IFileTransferService Transfers(string name) => _hosts[name].Services.GetRequiredService<IFileTransferService>();

    public FileTransferService Service(string name) => _hosts[name].Services.GetRequiredService<FileTransferService>();

    public TransferEventLog Events(string name) => _events[name];

    /// <summary>Joins two hosts: each sees the other's name as the peer id. Every frame each side sends is recorded.</summary>
    public async Task<PeerLink> ConnectAsync(string a, string b, InMemoryChannelOptions? options = null)
    {
        var channels = InMemoryChannelPair.Create(options);
        var link = new PeerLink(channels);
        channels.A.Sending = (message, _) => link.SentA.Enqueue(SentFrame.Parse(message));
        channels.B.Sending = (message, _) => link.SentB.Enqueue(SentFrame.Parse(message));
        (link.SessionA, _) = await _hosts[a].Services.GetRequiredService<PeerSessionHost>().StartAsync(channels.A, b);
        (link.SessionB, _) = await _hosts[b].Services.GetRequiredService<PeerSessionHost>().StartAsync(channels.B, a);
        _links.Add(link);
        return link;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var link in _links)
        {
            await link.Channels.DisposeAsync();
        }

        foreach (var host in _hosts.Values)
        {
            host.Dispose();
        }

        Folder.Dispose();
    }
}

/// <summary>One connection between two hosts of <see cref="PeerHosts"/>, with the frames each side put on it.</summary>
internal sealed class PeerLink(InMemoryChannelPair channels)
{
    public InMemoryChannelPair Channels { get; } = channels;

    public PeerSession SessionA { get; set; } = null!;

    public PeerSession SessionB { get; set; } = null!;

    public ConcurrentQueue<SentFrame> SentA { get; } = new();

    public ConcurrentQueue<SentFrame> SentB { get; } = new();

    /// <summary>Drops the connection and waits until both hosts have seen their sessions end (and paused what ran).</summary>
    public async Task DisconnectAsync()
    {
        Channels.Disconnect();
        foreach (var session in new[] { SessionA, SessionB })
        {
            var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using (session.Ended.Register(() => ended.TrySetResult()))
            {
                await ended.Task.WaitAsync(TimeSpan.FromSeconds(10));
            }
        }

        // The observers run just after Ended is cancelled; the paused events say when they are done.
        await Task.Delay(50);
    }
}

/// <summary>A frame as it went onto the channel: its kind and, for file-transfer frames, the transfer id it names.</summary>
internal sealed record SentFrame(int Kind, string? TransferId)
{
    public static SentFrame Parse(ReadOnlyMemory<byte> message)
    {
        var reader = new MessagePackReader(message);
        reader.ReadArrayHeader();
        var kind = reader.ReadInt32();
        string? id = null;
        // Every file-transfer body (kinds 100..108) is an array whose first element is the transfer id.
        if (kind is >= 100 and <= 108 && reader.NextMessagePackType == MessagePackType.Array)
        {
            reader.ReadArrayHeader();
            id = reader.ReadString();
        }

        return new SentFrame(kind, id);
    }
}
