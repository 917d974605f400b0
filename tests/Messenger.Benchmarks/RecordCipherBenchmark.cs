using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Org.BouncyCastle.Crypto.Engines;
using Org.BouncyCastle.Crypto.Modes;
using Org.BouncyCastle.Crypto.Parameters;

namespace Messenger.Benchmarks;

/// <summary>AES-128-GCM on 1200-byte DTLS records, one thread: the record protection choices side by side.</summary>
internal static class RecordCipherBenchmark
{
    private const int Records = 200_000;
    private const int RecordSize = 1200;

    public static Task RunAsync()
    {
        var key = RandomNumberGenerator.GetBytes(16);
        var nonce = RandomNumberGenerator.GetBytes(12);
        var aad = RandomNumberGenerator.GetBytes(13);
        var record = new byte[RecordSize + 16];
        var table = new Table("AES-128-GCM, 1200-byte record, encrypt", "µs per record (3 runs)", "MB/s best", "alloc B per record");

        var keyParameter = new KeyParameter(key);
        var perRecordKey = new GcmBlockCipher(new AesEngine());
        var counter = 0L;
        Measure(table, "BouncyCastle, key set per record (BcTlsAeadCipherImpl)", () =>
        {
            BitConverter.TryWriteBytes(nonce.AsSpan(4), ++counter); // GCM refuses a repeated nonce with the same key
            perRecordKey.Init(true, new AeadParameters(keyParameter, 128, nonce, aad));
            var n = perRecordKey.ProcessBytes(record, 0, RecordSize, record, 0);
            perRecordKey.DoFinal(record, n);
        });

        var reusedKey = new GcmBlockCipher(new AesEngine());
        reusedKey.Init(true, new AeadParameters(keyParameter, 128, nonce, aad));
        Measure(table, "BouncyCastle, key set once", () =>
        {
            BitConverter.TryWriteBytes(nonce.AsSpan(4), ++counter); // GCM refuses a repeated nonce with the same key
            reusedKey.Init(true, new AeadParameters(null, 128, nonce, aad));
            var n = reusedKey.ProcessBytes(record, 0, RecordSize, record, 0);
            reusedKey.DoFinal(record, n);
        });

        using var aes = new AesGcm(key, 16);
        Measure(table, "System.Security.Cryptography.AesGcm (OpenSSL)", () =>
            aes.Encrypt(nonce, record.AsSpan(0, RecordSize), record.AsSpan(0, RecordSize), record.AsSpan(RecordSize, 16), aad));

        table.Print();
        return Task.CompletedTask;
    }

    private static void Measure(Table table, string name, Action encrypt)
    {
        for (var i = 0; i < 20_000; i++)
        {
            encrypt(); // warm up the JIT tiers
        }

        var micros = new List<double>();
        long allocated = 0;
        for (var run = 0; run < 3; run++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            var started = Stopwatch.GetTimestamp();
            for (var i = 0; i < Records; i++)
            {
                encrypt();
            }

            micros.Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds / Records);
            allocated = (GC.GetAllocatedBytesForCurrentThread() - before) / Records;
        }

        table.Add(name, string.Join(" ", micros.Select(m => m.ToString("F2", CultureInfo.InvariantCulture))),
            (RecordSize / micros.Min()).ToString("F0", CultureInfo.InvariantCulture), allocated.ToString(CultureInfo.InvariantCulture));
    }
}
