namespace Messenger.Plugins.Storage.Tests;

/// <summary>Finds any 16-byte window of known plaintext in the files of a folder.</summary>
public sealed class PlaintextScanner
{
    private const int Window = 16;
    private readonly HashSet<UInt128> windows = [];

    public PlaintextScanner(IEnumerable<byte[]> plaintexts)
    {
        foreach (var plaintext in plaintexts)
        {
            for (var i = 0; i + Window <= plaintext.Length; i++)
            {
                windows.Add(Read(plaintext, i));
            }
        }
    }

    /// <summary>The files (and offsets) where a window of plaintext appears.</summary>
    public List<string> FindIn(string folder)
    {
        var found = new List<string>();
        foreach (var path in Directory.GetFiles(folder, "*", SearchOption.AllDirectories))
        {
            if (new FileInfo(path).Length < Window)
            {
                // Too short to hold a window (the store's empty lock file, which this process holds locked).
                continue;
            }

            byte[] bytes;
            // The database files are open in this process: share them while reading.
            using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
            {
                bytes = new byte[stream.Length];
                stream.ReadExactly(bytes);
            }

            for (var i = 0; i + Window <= bytes.Length; i++)
            {
                if (windows.Contains(Read(bytes, i)))
                {
                    found.Add($"{Path.GetFileName(path)}@{i}");
                    break;
                }
            }
        }

        return found;
    }

    private static UInt128 Read(byte[] bytes, int offset) => BitConverter.ToUInt128(bytes, offset);
}
