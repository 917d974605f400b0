using System.CommandLine;
using System.Security.Cryptography;
using Messenger.Contracts.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Messenger.Cli.Commands;

/// <summary><c>messenger export ID PATH</c>: decrypts a received file from the store to a plain file.</summary>
internal static class ExportCommand
{
    private static readonly string[] Openers = ["/usr/bin/xdg-open", "/bin/xdg-open"];

    public static Command Create(Option<FileInfo?> pluginsOption, StoreProfile.Options profileOptions)
    {
        var idArgument = new Argument<string>("ID") { Description = "The transfer id (messenger files lists them; a unique prefix of 4 or more characters is enough) or the stored file id." };
        var pathArgument = new Argument<string>("PATH") { Description = "The file to write, or an existing folder to write the file into under its own (sanitised) name." };
        var forceOption = new Option<bool>("--force") { Description = "Overwrite PATH if it exists." };
        var command = new Command("export", "Decrypt a received file from your store to PATH (never overwrites unless --force); its SHA-256 is checked against the transfer's.")
        {
            idArgument,
            pathArgument,
            forceOption,
        };
        profileOptions.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var id = parse.GetValue(idArgument)!;
            var target = Path.GetFullPath(parse.GetValue(pathArgument)!);
            var force = parse.GetValue(forceOption);
            var profile = StoreProfile.Resolve(parse, profileOptions, CliPaths.ResolvePluginsFile(parse.GetValue(pluginsOption)));
            using var host = profile.OpenHost();
            var (name, length, destination, hash) = await ExportAsync(host, id, name => Directory.Exists(target) ? Path.Combine(target, name) : target, force, cancellationToken);

            // Plain and unwrapped: scripts read the path and the hash.
            Console.Out.WriteLine($"Exported {ChatOutput.Clean(name)} ({length:N0} bytes) to {destination}; SHA-256 {Convert.ToHexStringLower(hash)}");
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary><c>messenger open ID</c>: a quick look at a received file, decrypted into a private temporary folder.</summary>
    public static Command CreateOpen(Option<FileInfo?> pluginsOption, StoreProfile.Options profileOptions)
    {
        var idArgument = new Argument<string>("ID") { Description = "The transfer id (messenger files lists them; a unique prefix of 4 or more characters is enough) or the stored file id." };
        var command = new Command("open", "Decrypt a received file into a new private folder under the temporary folder (readable by you only), print its path, and hand it to xdg-open when a desktop is there. Delete the copy when done: it is not encrypted.")
        {
            idArgument,
        };
        profileOptions.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var id = parse.GetValue(idArgument)!;
            var profile = StoreProfile.Resolve(parse, profileOptions, CliPaths.ResolvePluginsFile(parse.GetValue(pluginsOption)));
            using var host = profile.OpenHost();
            DirectoryInfo? folder = null;
            try
            {
                var (name, length, destination, _) = await ExportAsync(host, id, name => Path.Combine((folder = Directory.CreateTempSubdirectory("messenger-open-")).FullName, name), force: false, cancellationToken);
                Console.Out.WriteLine(destination);
                Console.Error.WriteLine($"messenger: {ChatOutput.Clean(name)} ({length:N0} bytes) decrypted to {destination}; delete it when done (rm -r {folder!.FullName}).");
                TryLaunch(destination);
                return ExitCodes.Ok;
            }
            catch
            {
                if (folder is not null)
                {
                    folder.Delete(recursive: true);
                }

                throw;
            }
        });
        return command;
    }

    /// <summary>
    /// Decrypts the received file <paramref name="id"/> names (a transfer id, a unique prefix, or a stored file id) to
    /// the path <paramref name="destinationFor"/> gives for its sanitised name, through a temporary file, checking the
    /// SHA-256 the sender announced; nothing is left behind on failure.
    /// </summary>
    private static async Task<(string Name, long Length, string Destination, byte[] Sha256)> ExportAsync(Microsoft.Extensions.Hosting.IHost host, string id, Func<string, string> destinationFor, bool force, CancellationToken cancellationToken)
    {
        var files = host.Services.GetServices<IFileStore>().LastOrDefault()
            ?? throw new CliException("No storage plugin is loaded (see messenger plugins): there are no stored files.");
        var messages = host.Services.GetServices<IMessageStore>().LastOrDefault();

        var record = messages is null || id.Length < 4 ? null : await FilesCommand.FindAsync(messages, id, cancellationToken);
        var fileId = record?.FileId ?? id;
        var info = await files.GetInfoAsync(fileId, cancellationToken)
            ?? throw new CliException(record is null ? $"No transfer or stored file has the id {id}; messenger files lists them." : $"Transfer {id} ({record.State}) has no stored file yet.");
        if (!info.IsComplete)
        {
            throw new CliException($"{id} is not complete yet ({info.Length:N0} bytes stored); finish the transfer first.");
        }

        var destination = destinationFor(SafeFileName(record?.FileName ?? info.Metadata.FileName));
        if (File.Exists(destination) && !force)
        {
            throw new CliException($"{destination} exists; pass --force to overwrite it.");
        }

        var folder = Path.GetDirectoryName(destination)!;
        if (!Directory.Exists(folder))
        {
            throw new CliException($"The folder {folder} does not exist.");
        }

        // The temporary name stays within the file system's 255 bytes whatever the final name's length.
        var stem = Path.GetFileName(destination);
        var partial = Path.Combine(folder, $".{(stem.Length > 64 ? stem[..64] : stem)}.{Guid.NewGuid():n}.partial");
        byte[] hash;
        try
        {
            await using (var source = await files.OpenReadAsync(fileId, cancellationToken))
            await using (var output = new FileStream(partial, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            {
                using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var buffer = new byte[1 << 16];
                int read;
                while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    sha.AppendData(buffer, 0, read);
                    await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                }

                await output.FlushAsync(cancellationToken);
                hash = sha.GetHashAndReset();
            }

            if (record?.Sha256 is { Length: 32 } expected && !expected.AsSpan().SequenceEqual(hash))
            {
                throw new StorageIntegrityException($"The stored copy of {id} does not match the SHA-256 the sender announced; nothing was written.");
            }

            File.Move(partial, destination, overwrite: force);
        }
        finally
        {
            File.Delete(partial);
        }

        return (info.Metadata.FileName, info.Length, destination, hash);
    }

    // Only on a desktop, and only the system's own opener: never a program the file or the peer could choose.
    private static void TryLaunch(string path)
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DISPLAY")) && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("WAYLAND_DISPLAY")))
        {
            return;
        }

        var opener = Openers.FirstOrDefault(File.Exists);
        if (opener is null)
        {
            return;
        }

        try
        {
            using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(opener, [path]) { UseShellExecute = false, RedirectStandardOutput = false });
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // The path is printed: the person opens it themselves.
        }
    }

    // The name came from the peer: keep only the last segment, no control or bidi format characters, no leading
    // dots (a peer must not pick ".bashrc" for an export into a home folder), at most 200 UTF-16 units.
    internal static string SafeFileName(string name)
    {
        var last = name.Replace('\\', '/').Split('/').LastOrDefault() ?? "";
        var invalid = Path.GetInvalidFileNameChars();
        var safe = new string(last.Select(c => ChatOutput.IsUnsafe(c) || invalid.Contains(c) ? '_' : c).ToArray())
            .Trim().TrimStart('.');
        if (safe.Length > 200)
        {
            var extension = Path.GetExtension(safe);
            safe = safe[..(200 - Math.Min(extension.Length, 20))] + (extension.Length <= 20 ? extension : "");
        }

        return safe is "" ? "received-file" : safe;
    }
}
