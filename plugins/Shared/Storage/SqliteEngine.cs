using NativeLibrary = System.Runtime.InteropServices.NativeLibrary;
using Messenger.Contracts.Storage;
using SQLitePCL;

namespace Messenger.Plugins.Storage.Sqlite;

/// <summary>Loads the system's native SQLite build once per process and hands it to SQLitePCLRaw.</summary>
internal static class SqliteEngine
{
    private static readonly Lock Gate = new();
    private static string? loadedLibrary;

    /// <summary>Loads the first library of <paramref name="candidates"/> that exists; later calls reuse it.</summary>
    /// <returns>The library file name that was loaded.</returns>
    public static string EnsureLoaded(IReadOnlyList<string> candidates, string installHint)
    {
        lock (Gate)
        {
            if (loadedLibrary is not null)
            {
                return loadedLibrary;
            }

            foreach (var candidate in candidates)
            {
                // SQLitePCL.NativeLibrary looks for libdl by an old name, so the runtime's loader is used instead.
                if (NativeLibrary.TryLoad(candidate, out var handle))
                {
                    SQLite3Provider_dynamic_cdecl.Setup(candidate, new ExportedFunctions(handle));
                    raw.SetProvider(new SQLite3Provider_dynamic_cdecl());
                    loadedLibrary = candidate;
                    return candidate;
                }
            }

            throw new StorageException($"Could not load the native SQLite library ({string.Join(" or ", candidates)}). {installHint}");
        }
    }

    private sealed class ExportedFunctions(IntPtr library) : IGetFunctionPointer
    {
        public IntPtr GetFunctionPointer(string name) =>
            NativeLibrary.TryGetExport(library, name, out var address) ? address : IntPtr.Zero;
    }
}
