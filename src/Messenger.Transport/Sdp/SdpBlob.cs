using System.Buffers.Text;
using System.IO.Compression;
using System.Text;

namespace Messenger.Transport.Sdp;

/// <summary>
/// A copy-paste form of a session description: "z" + base64url(deflate(SDP)), or "p" + base64url(SDP) when
/// deflate does not help. Decoding is bounded: garbage gives an <see cref="SdpBlobException"/>.
/// </summary>
public static class SdpBlob
{
    private const int MaxBlobLength = 128 * 1024;

    public static string Encode(SessionDescription description)
    {
        ArgumentNullException.ThrowIfNull(description);
        var prefix = description.Type == SdpType.Offer ? "o" : "a";
        var raw = Encoding.UTF8.GetBytes(description.ToString());
        using var packed = new MemoryStream();
        using (var deflate = new DeflateStream(packed, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            deflate.Write(raw);
        }

        return packed.Length < raw.Length
            ? prefix + "z" + Base64Url.EncodeToString(packed.ToArray())
            : prefix + "p" + Base64Url.EncodeToString(raw);
    }

    /// <exception cref="SdpBlobException">Not a blob, damaged, too large, or the SDP inside is unusable.</exception>
    public static SessionDescription Decode(string blob)
    {
        ArgumentNullException.ThrowIfNull(blob);
        var text = blob.Trim();
        if (text.Length < 3 || text.Length > MaxBlobLength)
        {
            throw new SdpBlobException("This is not a connection code: wrong length.");
        }

        var type = text[0] switch
        {
            'o' => SdpType.Offer,
            'a' => SdpType.Answer,
            _ => throw new SdpBlobException("This is not a connection code: it must start with 'o' (offer) or 'a' (answer)."),
        };
        byte[] payload;
        try
        {
            payload = Base64Url.DecodeFromChars(text.AsSpan(2));
        }
        catch (FormatException e)
        {
            throw new SdpBlobException("The connection code is damaged: not base64url.", e);
        }

        byte[] sdp;
        switch (text[1])
        {
            case 'p':
                sdp = payload;
                break;
            case 'z':
                try
                {
                    using var input = new DeflateStream(new MemoryStream(payload), CompressionMode.Decompress);
                    using var output = new MemoryStream();
                    var buffer = new byte[4096];
                    int read;
                    while ((read = input.Read(buffer)) > 0)
                    {
                        // Bounded: a deflate bomb stops at the SDP size limit.
                        if (output.Length + read > SdpParser.MaxLength)
                        {
                            throw new SdpBlobException("The connection code expands beyond the SDP size limit.");
                        }

                        output.Write(buffer, 0, read);
                    }

                    sdp = output.ToArray();
                }
                catch (InvalidDataException e)
                {
                    throw new SdpBlobException("The connection code is damaged: its compressed data is corrupt.", e);
                }

                break;
            default:
                throw new SdpBlobException("This is not a connection code: unknown encoding.");
        }

        string sdpText;
        try
        {
            sdpText = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(sdp);
        }
        catch (DecoderFallbackException e)
        {
            throw new SdpBlobException("The connection code is damaged: not UTF-8 text.", e);
        }

        try
        {
            return SessionDescription.Parse(sdpText, type);
        }
        catch (SdpParseException e)
        {
            throw new SdpBlobException($"The connection code holds unusable SDP: {e.Message}", e);
        }
    }
}

/// <summary>A connection code that cannot be decoded; the message says why in words a user can act on.</summary>
public sealed class SdpBlobException : FormatException
{
    public SdpBlobException()
    {
    }

    public SdpBlobException(string message)
        : base(message)
    {
    }

    public SdpBlobException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
