using Messenger.Plugins.Storage.Folder;
using Messenger.Plugins.Storage.SqlCipher;

namespace Messenger.Plugins.Storage.Tests;

/// <summary>Opens the stores under test the same way in every conformance class.</summary>
internal static class Stores
{
    /// <summary>A fixed raw key: the conformance tests exercise storage, not key derivation.</summary>
    public static readonly byte[] RawKey = [.. Enumerable.Range(1, 32).Select(i => (byte)i)];

    public static StoreSession OpenSqlCipher(string folder)
    {
        var store = SqlCipherStore.Open(folder, StoreKey.FromRawKey(RawKey));
        return new StoreSession(store.Messages, store.Files, store.Profile, store);
    }

    public static StoreSession OpenFolder(string folder)
    {
        var store = FolderStore.Open(Path.Combine(folder, "data"), Path.Combine(folder, "downloads"));
        return new StoreSession(store.Messages, store.Files, store.Profile, store);
    }
}

public sealed class SqlCipherMessageStoreTests : MessageStoreConformanceTests
{
    protected override StoreSession Open(string folder) => Stores.OpenSqlCipher(folder);
}

public sealed class SqlCipherFileStoreTests : FileStoreConformanceTests
{
    protected override StoreSession Open(string folder) => Stores.OpenSqlCipher(folder);
}

public sealed class FolderMessageStoreTests : MessageStoreConformanceTests
{
    protected override StoreSession Open(string folder) => Stores.OpenFolder(folder);
}

public sealed class FolderFileStoreTests : FileStoreConformanceTests
{
    protected override StoreSession Open(string folder) => Stores.OpenFolder(folder);
}

public sealed class SqlCipherProfileStoreTests : ProfileStoreConformanceTests
{
    protected override StoreSession Open(string folder) => Stores.OpenSqlCipher(folder);
}

public sealed class FolderProfileStoreTests : ProfileStoreConformanceTests
{
    protected override StoreSession Open(string folder) => Stores.OpenFolder(folder);
}
