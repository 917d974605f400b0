using System.CommandLine;
using System.Security.Cryptography;
using Messenger.Contracts.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Messenger.Cli.Commands;

/// <summary><c>messenger export ID PATH</c>: decrypts a received file from the store to a plain file.</summary>
internal static class ExportCommand
{
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
            var target = parse.GetValue(pathArgument)!;
            var force = parse.GetValue(forceOption);
            var profile = StoreProfile.Resolve(parse, profileOptions, CliPaths.ResolvePluginsFile(parse.GetValue(pluginsOption)));
            using var host = profile.OpenHost();
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

            var destination = Path.GetFullPath(target);
            if (Directory.Exists(destination))
            {
                destination = Path.Combine(destination, SafeFileName(record?.FileName ?? info.Metadata.FileName));
            }

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

            // Plain and unwrapped: scripts read the path and the hash.
            Console.Out.WriteLine($"Exported {ChatOutput.Clean(info.Metadata.FileName)} ({info.Length:N0} bytes) to {destination}; SHA-256 {Convert.ToHexStringLower(hash)}");
            return ExitCodes.Ok;
        });
        return command;
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
