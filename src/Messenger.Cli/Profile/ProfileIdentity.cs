using System.Text;
using Messenger.Contracts.Storage;
using Messenger.Transport.Dtls;

namespace Messenger.Cli.Profile;

/// <summary>
/// The profile's long-lived identity: one DTLS certificate, kept in the store's profile records (encrypted with the
/// store) and presented on every connection, so a peer sees the same fingerprint every time. A peer's id
/// (<c>IPeerSession.PeerId</c>) is its certificate's SHA-256 fingerprint as 64 lowercase hex digits.
/// </summary>
internal sealed class ProfileIdentity
{
    /// <summary>The profile record holding the certificate and its key (PEM).</summary>
    public const string RecordKey = "identity";

    /// <summary>A kept identity outlives any profile: the fingerprint is the identity, so it must not expire.</summary>
    private static readonly TimeSpan Validity = TimeSpan.FromDays(365 * 30);

    private ProfileIdentity(DtlsCertificate certificate, bool isKept)
    {
        Certificate = certificate;
        IsKept = isKept;
    }

    public DtlsCertificate Certificate { get; }

    /// <summary>False when the store keeps no profile records: a new identity for this run only.</summary>
    public bool IsKept { get; }

    public string PeerId => PeerIdOf(Certificate.Fingerprint);

    public string SafetyCode => SafetyCodeOf(Certificate.Fingerprint);

    /// <summary>Reads the profile's identity, or creates and keeps one on the first run.</summary>
    /// <exception cref="StorageException">The stored identity is damaged; it is left as it is.</exception>
    public static async Task<ProfileIdentity> LoadOrCreateAsync(IProfileStore? store, TimeProvider time, CancellationToken cancellationToken)
    {
        if (store is null)
        {
            return new ProfileIdentity(DtlsCertificate.Generate(time: time), isKept: false);
        }

        if (await store.GetRecordAsync(RecordKey, cancellationToken) is { } stored)
        {
            try
            {
                return new ProfileIdentity(DtlsCertificate.ImportPem(Encoding.UTF8.GetString(stored)), isKept: true);
            }
            catch (FormatException ex)
            {
                // Never replaced on doubt: a new identity would make every contact see a stranger.
                throw new StorageException($"The profile's identity record is damaged ({ex.Message}); it was left untouched. Restore the store from a backup, or move the profile aside to start a new identity.", ex);
            }
        }

        var created = DtlsCertificate.Generate(Validity, time);
        await store.SetRecordAsync(RecordKey, Encoding.UTF8.GetBytes(created.ExportPem()), cancellationToken);
        return new ProfileIdentity(created, isKept: true);
    }

    /// <summary>The peer id of a SHA-256 certificate fingerprint (ours, or the one the handshake verified): 64 lowercase hex digits.</summary>
    public static string PeerIdOf(DtlsFingerprint fingerprint) =>
        fingerprint.Algorithm == "sha-256"
            ? Convert.ToHexStringLower(fingerprint.Digest)
            : throw new ArgumentException($"A peer id is a SHA-256 fingerprint, not {fingerprint.Algorithm}.", nameof(fingerprint));

    /// <summary>
    /// The fingerprint as six groups of five digits (about 100 bits: each group is 40 bits of the digest modulo 10^5),
    /// to read aloud and compare: <c>messenger whoami</c> on one side, <c>messenger contacts</c> on the other.
    /// </summary>
    public static string SafetyCodeOf(DtlsFingerprint fingerprint) => SafetyCodeOf(fingerprint.Digest);

    public static string SafetyCodeOf(ReadOnlySpan<byte> digest)
    {
        if (digest.Length < 30)
        {
            throw new ArgumentException("A safety code needs a digest of at least 30 bytes.", nameof(digest));
        }

        var groups = new string[6];
        for (var i = 0; i < groups.Length; i++)
        {
            ulong value = 0;
            foreach (var b in digest.Slice(i * 5, 5))
            {
                value = (value << 8) | b;
            }

            groups[i] = (value % 100_000).ToString("D5", System.Globalization.CultureInfo.InvariantCulture);
        }

        return string.Join(' ', groups);
    }

    /// <summary>The safety code of a peer id made by <see cref="PeerIdOf"/> (SHA-256), or null for another form.</summary>
    public static string? SafetyCodeOfPeerId(string peerId) =>
        peerId.Length == 64 && peerId.All(Uri.IsHexDigit) ? SafetyCodeOf(Convert.FromHexString(peerId)) : null;
}
