using System.Security.Cryptography;
using System.Text;

namespace Messenger.Transport.Stun;

/// <summary>MESSAGE-INTEGRITY keys (RFC 8489 §9.1.1, §9.2.2).</summary>
public static class StunCredentials
{
    /// <summary>Short-term credentials, as ICE uses them: the key is the (prepared) password itself.</summary>
    public static byte[] ShortTermKey(string password)
    {
        ArgumentNullException.ThrowIfNull(password);
        return Encoding.UTF8.GetBytes(Prepare(password));
    }

    /// <summary>Long-term credentials: MD5(username ":" realm ":" password), RFC 8489 §9.2.2.</summary>
    public static byte[] LongTermKey(string username, string realm, string password)
    {
        ArgumentNullException.ThrowIfNull(username);
        ArgumentNullException.ThrowIfNull(realm);
        ArgumentNullException.ThrowIfNull(password);
        var input = Encoding.UTF8.GetBytes($"{username}:{realm}:{Prepare(password)}");
#pragma warning disable CA5351 // RFC 8489 §9.2.2 defines the long-term key as an MD5 digest; not our choice.
        return MD5.HashData(input);
#pragma warning restore CA5351
    }

    // RFC 8265 OpaqueString (RFC 8489 §9.2.2) is NFC after width/compatibility mapping; NFKC covers the
    // mappings ICE passwords (ASCII) and the RFC 5769 vector (ª → a, Ⅸ → IX) need.
    private static string Prepare(string password) => password.Normalize(NormalizationForm.FormKC);
}
