using Messenger.Contracts.Storage;

namespace Messenger.Plugins.Storage.Tests;

/// <summary>One open store of the implementation under test: its three contracts and the way to close it.</summary>
public sealed class StoreSession(IMessageStore messages, IFileStore files, IProfileStore profile, IAsyncDisposable owner) : IAsyncDisposable
{
    public IMessageStore Messages { get; } = messages;

    public IProfileStore Profile { get; } = profile;

    public IFileStore Files { get; } = files;

    public ValueTask DisposeAsync() => owner.DisposeAsync();
}

/// <summary>What every conformance class needs: a temp folder and a way to open (and reopen) the store in it.</summary>
public abstract class StoreTestBase : IAsyncLifetime
{
    private StoreSession? session;

    protected TempDirectory Folder { get; } = new();

    protected StoreSession Store => session ?? throw new InvalidOperationException("The store is not open.");

    /// <summary>Opens the implementation under test over <paramref name="folder"/> (the same folder reopens the same store).</summary>
    protected abstract StoreSession Open(string folder);

    public Task InitializeAsync()
    {
        session = Open(Folder.Path);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (session is not null)
        {
            await session.DisposeAsync();
        }

        Folder.Dispose();
    }

    /// <summary>Closes the store and opens it again over the same folder, as a restart would.</summary>
    protected async Task ReopenAsync()
    {
        await Store.DisposeAsync();
        session = null;
        session = Open(Folder.Path);
    }
}
