using Messenger.Host;
using Messenger.Plugins.Storage.Folder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Messenger.Plugins.FileTransfer.Tests;

/// <summary>Builds one complete host (store, file transfer, extra services) over folders named after it.</summary>
internal static class TestHosts
{
    /// <summary>
    /// A host whose store lives in <c>folder/name/data</c> (and <c>folder/name/downloads</c> for the folder store), so a
    /// host built again with the same name is the same profile after a restart.
    /// </summary>
    public static IHost Build(TempFolder folder, string name, SideOptions side)
    {
        var builder = MessengerHost.CreateBuilder(pluginsFile: null);
        if (side.SqlCipher)
        {
            var keyFile = folder.Combine(name + ".key");
            if (!File.Exists(keyFile))
            {
                File.WriteAllText(keyFile, Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)));
            }

            new Messenger.Plugins.Storage.SqlCipher.SqlCipherStoragePlugin().ConfigureServices(builder.Services, Settings(
                ("path", folder.Combine(name, "data")),
                ("keyFile", keyFile)));
        }
        else
        {
            new FolderStoragePlugin().ConfigureServices(builder.Services, Settings(
                ("path", folder.Combine(name, "data")),
                ("downloadsPath", folder.Combine(name, "downloads"))));
        }

        if (side.WithFileTransfer)
        {
            builder.Services.AddFileTransfer(side.Transfer ?? TransferPair.Small());
        }

        side.Services?.Invoke(builder.Services);
        return builder.BuildMessengerHost();
    }

    private static IConfiguration Settings(params (string Key, string Value)[] pairs) =>
        new ConfigurationBuilder().AddInMemoryCollection(pairs.Select(p => new KeyValuePair<string, string?>(p.Key, p.Value))).Build();
}
