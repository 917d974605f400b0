using System.Security.Cryptography;
using Messenger.Contracts.Storage;

namespace Messenger.Plugins.Storage.Tests;

/// <summary>The behaviour every <see cref="IFileStore"/> must show; each store's test class derives from this.</summary>
public abstract class FileStoreConformanceTests : StoreTestBase
{
    /// <summary>Just over 2 GiB: past every 32-bit offset, streamed, never held in memory.</summary>
    protected const long MultiGigabyteSize = (2L * 1024 * 1024 * 1024) + 12345;

    protected static readonly StoredFileMetadata Photo = new("photo.jpg", "image/jpeg");

    protected static byte[] RandomBytes(int length) => RandomNumberGenerator.GetBytes(length);

    protected async Task StoreAsync(string fileId, byte[] content, StoredFileMetadata? metadata = null, int writeSize = 7919)
    {
        await using var writer = await Store.Files.OpenWriteAsync(fileId, metadata ?? Photo);
        // Writes in odd slices so chunk and buffer boundaries fall everywhere.
        for (var offset = 0; offset < content.Length; offset += writeSize)
        {
            await writer.WriteAsync(content.AsMemory(offset, Math.Min(writeSize, content.Length - offset)));
        }

        var info = await writer.CompleteAsync();
        Assert.Equal(content.Length, info.Length);
        Assert.Equal(content.Length, writer.Length);
        Assert.True(info.IsComplete);
    }

    protected async Task<byte[]> ReadAllAsync(string fileId)
    {
        await using var stream = await Store.Files.OpenReadAsync(fileId);
        var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        Assert.Equal(copy.Length, stream.Length);
        return copy.ToArray();
    }

    [Fact]
    public void AvailableBytes_IsTheFreeSpaceOfTheFileSystemTheStoreIsOn()
    {
        var free = Store.Files.AvailableBytes;

        Assert.NotNull(free);
        var temp = new DriveInfo(Path.GetTempPath()).AvailableFreeSpace; // the stores of these tests live under the temporary folder
        Assert.InRange(free.Value, temp - (256L << 20), temp + (256L << 20));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(99 * 1024)]
    [InlineData((100 * 1024) - 1)]
    [InlineData(100 * 1024)]
    [InlineData(101 * 1024)]
    [InlineData((3 * 65536) + 17)]
    public async Task WriteComplete_ThenRead_ReturnsSameBytes(int size)
    {
        var content = RandomBytes(size);

        await StoreAsync("f1", content);

        Assert.Equal(content, await ReadAllAsync("f1"));
        var info = await Store.Files.GetInfoAsync("f1");
        Assert.Equal(new StoredFileMetadata("photo.jpg", "image/jpeg"), info!.Metadata);
        Assert.Equal(size, info.Length);
        Assert.True(info.IsComplete);
    }

    [Theory]
    [InlineData(99 * 1024)]
    [InlineData(101 * 1024)]
    public async Task Reopen_KeepsCompletedFiles(int size)
    {
        var content = RandomBytes(size);
        await StoreAsync("kept", content);

        await ReopenAsync();

        Assert.Equal(content, await ReadAllAsync("kept"));
    }

    [Fact]
    public async Task OpenRead_SeekAnywhere_ReadsThoseBytes()
    {
        var content = RandomBytes((5 * 65536) + 999);
        await StoreAsync("seek", content);
        await using var stream = await Store.Files.OpenReadAsync("seek");
        Assert.True(stream.CanSeek);

        foreach (var offset in new long[] { 65535, 0, 3 * 65536, content.Length - 10, 12345, 65536 * 5 })
        {
            stream.Seek(offset, SeekOrigin.Begin);
            var buffer = new byte[(int)Math.Min(70000, content.Length - offset)];
            await stream.ReadExactlyAsync(buffer);
            Assert.Equal(content.AsSpan((int)offset, buffer.Length).ToArray(), buffer);
        }

        stream.Position = content.Length;
        Assert.Equal(0, await stream.ReadAsync(new byte[10]));
    }

    [Theory]
    [InlineData(50 * 1024, 30 * 1024)]
    [InlineData(90 * 1024, 400 * 1024)]
    [InlineData(300 * 1024, 123 * 1024)]
    public async Task Resume_AfterFlushAndClose_ContinuesAtDurableLength(int firstPart, int secondPart)
    {
        var content = RandomBytes(firstPart + secondPart);
        await using (var writer = await Store.Files.OpenWriteAsync("resume", Photo))
        {
            await writer.WriteAsync(content.AsMemory(0, firstPart));
            await writer.FlushAsync();
        }

        await ReopenAsync();
        var paused = await Store.Files.GetInfoAsync("resume");
        Assert.Equal(firstPart, paused!.Length);
        Assert.False(paused.IsComplete);
        Assert.Equal(content.AsSpan(0, firstPart).ToArray(), await ReadAllAsync("resume"));

        await using (var writer = await Store.Files.OpenWriteAsync("resume", Photo))
        {
            Assert.Equal(firstPart, writer.Length);
            await writer.WriteAsync(content.AsMemory(firstPart));
            await writer.CompleteAsync();
        }

        Assert.Equal(content, await ReadAllAsync("resume"));
    }

    [Theory]
    [InlineData(400 * 1024, 200 * 1024)]
    [InlineData(400 * 1024, (2 * 65536) + 5)]
    [InlineData(400 * 1024, 0)]
    [InlineData(60 * 1024, 10 * 1024)]
    public async Task Truncate_CutsBack_ThenAppendsAfterTheCut(int writtenLength, int cutTo)
    {
        var first = RandomBytes(writtenLength);
        var more = RandomBytes(150 * 1024);
        await using (var writer = await Store.Files.OpenWriteAsync("cut", Photo))
        {
            await writer.WriteAsync(first);
            await writer.FlushAsync();
            await writer.TruncateAsync(cutTo);
            Assert.Equal(cutTo, writer.Length);
            Assert.Equal(cutTo, (await Store.Files.GetInfoAsync("cut"))!.Length);
            await writer.WriteAsync(more);
            await writer.CompleteAsync();
        }

        var stored = await ReadAllAsync("cut");
        Assert.Equal([.. first.AsSpan(0, cutTo), .. more], stored);
    }

    [Fact]
    public async Task Truncate_BeyondLength_Throws()
    {
        await using var writer = await Store.Files.OpenWriteAsync("cut", Photo);
        await writer.WriteAsync(new byte[10]);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await writer.TruncateAsync(11));
    }

    [Fact]
    public async Task OpenWrite_CompletedFile_ThrowsStorageException()
    {
        await StoreAsync("done", RandomBytes(10));

        var error = await Assert.ThrowsAsync<StorageException>(async () => await Store.Files.OpenWriteAsync("done", Photo));
        Assert.Contains("complete", error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task OpenWrite_FileAlreadyOpenForWriting_ThrowsStorageException()
    {
        await using var writer = await Store.Files.OpenWriteAsync("busy", Photo);

        await Assert.ThrowsAsync<StorageException>(async () => await Store.Files.OpenWriteAsync("busy", Photo));
    }

    [Theory]
    [InlineData("")]
    [InlineData("../escape")]
    [InlineData("a/b")]
    [InlineData("spaces are not allowed")]
    public async Task OpenWrite_InvalidId_ThrowsArgumentException(string fileId)
    {
        await Assert.ThrowsAsync<ArgumentException>(async () => await Store.Files.OpenWriteAsync(fileId, Photo));
    }

    [Fact]
    public async Task Write_AfterComplete_Throws()
    {
        await using var writer = await Store.Files.OpenWriteAsync("done", Photo);
        await writer.CompleteAsync();

        await Assert.ThrowsAsync<StorageException>(async () => await writer.WriteAsync(new byte[1]));
    }

    [Theory]
    [InlineData(1000)]
    [InlineData(300 * 1024)]
    public async Task Delete_RemovesFileAndReportsUnknownIds(int size)
    {
        await StoreAsync("gone", RandomBytes(size));
        var filesBefore = Directory.GetFiles(Folder.Path, "*", SearchOption.AllDirectories).Length;

        Assert.True(await Store.Files.DeleteAsync("gone"));

        Assert.False(await Store.Files.DeleteAsync("gone"));
        Assert.Null(await Store.Files.GetInfoAsync("gone"));
        await Assert.ThrowsAsync<StoredFileNotFoundException>(async () => await Store.Files.OpenReadAsync("gone"));
        Assert.Empty(await Store.Files.ListAsync().ToListAsync());
        if (size > 100 * 1024)
        {
            Assert.True(Directory.GetFiles(Folder.Path, "*", SearchOption.AllDirectories).Length < filesBefore, "deleting a large file removes its file on disk");
        }
    }

    [Fact]
    public async Task OpenRead_UnknownId_ThrowsStoredFileNotFound()
    {
        await Assert.ThrowsAsync<StoredFileNotFoundException>(async () => await Store.Files.OpenReadAsync("never"));
        Assert.Null(await Store.Files.GetInfoAsync("never"));
    }

    [Fact]
    public async Task List_ShowsCompleteAndIncompleteFiles()
    {
        await StoreAsync("a", RandomBytes(10), new StoredFileMetadata("a.txt", "text/plain"));
        await using (var writer = await Store.Files.OpenWriteAsync("b", new StoredFileMetadata("b.bin", null)))
        {
            await writer.WriteAsync(RandomBytes(200 * 1024));
        }

        var listed = (await Store.Files.ListAsync().ToListAsync()).OrderBy(f => f.FileId).ToList();

        Assert.Equal(["a", "b"], listed.Select(f => f.FileId));
        Assert.Equal((10L, true, "a.txt", "text/plain"), (listed[0].Length, listed[0].IsComplete, listed[0].Metadata.FileName, listed[0].Metadata.MediaType));
        Assert.Equal((200L * 1024, false, "b.bin", (string?)null), (listed[1].Length, listed[1].IsComplete, listed[1].Metadata.FileName, listed[1].Metadata.MediaType));
        Assert.All(listed, f => Assert.InRange(f.CreatedAt, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(1)));
    }

    [Fact]
    public async Task ConcurrentWriters_DifferentFiles_EachReadsBackIntact()
    {
        var contents = Enumerable.Range(0, 6).Select(i => RandomBytes((i * 97 * 1024) + 1000)).ToArray();

        await Task.WhenAll(contents.Select((content, i) => Task.Run(async () =>
        {
            await using var writer = await Store.Files.OpenWriteAsync($"c{i}", new StoredFileMetadata($"c{i}.bin", null));
            for (var offset = 0; offset < content.Length; offset += 5000)
            {
                await writer.WriteAsync(content.AsMemory(offset, Math.Min(5000, content.Length - offset)));
                if (offset % 50000 == 0)
                {
                    await writer.FlushAsync();
                }
            }

            await writer.CompleteAsync();
        })));

        for (var i = 0; i < contents.Length; i++)
        {
            Assert.Equal(contents[i], await ReadAllAsync($"c{i}"));
        }
    }

    [Fact]
    public async Task MultiGigabyteFile_StreamedInAndOut_HashesMatch()
    {
        var block = new byte[4 * 1024 * 1024];
        RandomNumberGenerator.Fill(block);
        using var written = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using (var writer = await Store.Files.OpenWriteAsync("huge", new StoredFileMetadata("huge.bin", null)))
        {
            for (long offset = 0; offset < MultiGigabyteSize; offset += block.Length)
            {
                // Each block is stamped with its offset so misplaced blocks change the hash.
                BitConverter.TryWriteBytes(block, offset);
                var count = (int)Math.Min(block.Length, MultiGigabyteSize - offset);
                written.AppendData(block, 0, count);
                await writer.WriteAsync(block.AsMemory(0, count));
            }

            Assert.Equal(MultiGigabyteSize, (await writer.CompleteAsync()).Length);
        }

        using var read = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using (var stream = await Store.Files.OpenReadAsync("huge"))
        {
            Assert.Equal(MultiGigabyteSize, stream.Length);
            int count;
            while ((count = await stream.ReadAsync(block)) > 0)
            {
                read.AppendData(block, 0, count);
            }
        }

        Assert.Equal(written.GetHashAndReset(), read.GetHashAndReset());
        Assert.Equal(MultiGigabyteSize, (await Store.Files.GetInfoAsync("huge"))!.Length);
    }
}
