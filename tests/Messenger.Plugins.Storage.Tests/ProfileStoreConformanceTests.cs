using Messenger.Contracts.Storage;

namespace Messenger.Plugins.Storage.Tests;

/// <summary>The behaviour every <see cref="IProfileStore"/> must show; each store's test class derives from this.</summary>
public abstract class ProfileStoreConformanceTests : StoreTestBase
{
    [Fact]
    public async Task SetRecord_ReadsBackAfterReopen_ReplaceAndDelete()
    {
        Assert.Null(await Store.Profile.GetRecordAsync("identity"));
        await Store.Profile.SetRecordAsync("identity", new byte[] { 1, 2, 3 });
        await Store.Profile.SetRecordAsync("contact/ab", "alice"u8.ToArray());
        await ReopenAsync();

        Assert.Equal(new byte[] { 1, 2, 3 }, await Store.Profile.GetRecordAsync("identity"));
        await Store.Profile.SetRecordAsync("identity", new byte[] { 9 });
        Assert.Equal(new byte[] { 9 }, await Store.Profile.GetRecordAsync("identity"));
        Assert.True(await Store.Profile.DeleteRecordAsync("contact/ab"));
        Assert.False(await Store.Profile.DeleteRecordAsync("contact/ab"));
        await ReopenAsync();
        Assert.Null(await Store.Profile.GetRecordAsync("contact/ab"));
        Assert.Equal(new byte[] { 9 }, await Store.Profile.GetRecordAsync("identity"));
    }

    [Fact]
    public async Task ListRecords_ReturnsExactlyThePrefix_InKeyOrder_EvenWithLikeWildcards()
    {
        foreach (var key in new[] { "contact/b", "contact/a", "contacts", "contact", "contact_/x", "contact%/y", "identity", "contact/c/d" })
        {
            await Store.Profile.SetRecordAsync(key, System.Text.Encoding.UTF8.GetBytes(key));
        }

        var listed = await Store.Profile.ListRecordsAsync("contact/").ToListAsync();

        Assert.Equal(["contact/a", "contact/b", "contact/c/d"], listed.Select(r => r.Key));
        Assert.All(listed, r => Assert.Equal(r.Key, System.Text.Encoding.UTF8.GetString(r.Value)));
        Assert.Equal(8, (await Store.Profile.ListRecordsAsync("").ToListAsync()).Count);
        Assert.Empty(await Store.Profile.ListRecordsAsync("zzz").ToListAsync());
    }

    [Theory]
    [InlineData("")]
    [InlineData("a\nb")]
    public async Task BadKey_IsRefused(string key)
    {
        await Assert.ThrowsAsync<ArgumentException>(async () => await Store.Profile.SetRecordAsync(key, new byte[1]));
        await Assert.ThrowsAsync<ArgumentException>(async () => await Store.Profile.GetRecordAsync(key));
    }

    [Fact]
    public async Task OverlongKeyOrValue_IsRefused_NothingStored()
    {
        await Assert.ThrowsAsync<ArgumentException>(async () => await Store.Profile.SetRecordAsync(new string('k', IProfileStore.MaxKeyLength + 1), new byte[1]));
        await Assert.ThrowsAsync<ArgumentException>(async () => await Store.Profile.SetRecordAsync("big", new byte[IProfileStore.MaxValueLength + 1]));
        await Store.Profile.SetRecordAsync(new string('k', IProfileStore.MaxKeyLength), new byte[IProfileStore.MaxValueLength]);
        Assert.Null(await Store.Profile.GetRecordAsync("big"));
    }
}
