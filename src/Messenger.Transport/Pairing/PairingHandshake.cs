using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Messenger.Contracts.Channels;
using Messenger.Transport.Dtls;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Agreement.JPake;
using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.Security;

namespace Messenger.Transport.Pairing;

/// <summary>The pairing code did not match: a wrong code, a peer that used none, or someone in the middle.</summary>
public sealed class PairingFailedException : Exception
{
    public PairingFailedException()
        : base("the pairing code did not match")
    {
    }

    public PairingFailedException(string message)
        : base(message)
    {
    }

    public PairingFailedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// Proves, over a freshly opened data channel and before anything else is sent on it, that both peers know the same
/// <see cref="PairingCode"/> and see the same pair of DTLS certificates: J-PAKE (BouncyCastle, the NIST 3072-bit
/// group, SHA-256) with round 3's key confirmation, whose password is a hash of the code and of both fingerprints as
/// each side sees them. A relay that put its own certificates in the descriptions terminates DTLS with each peer, so
/// the two peers hash different fingerprints and the confirmation fails on both sides; without the code, an
/// attacker gets one guess per attempt. Messages are binary: "MP", the round (1-3), the field count, then each field
/// as a 16-bit length and a signed (two's complement) big-endian integer.
/// </summary>
public static class PairingHandshake
{
    /// <summary>How long a peer may take to answer each step.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private const string Failed = "the pairing code did not match";
    private const int MaxFieldBytes = 512; // the group's p is 384 bytes (385 signed)
    private const int MaxMessageBytes = 8 + 6 * (2 + MaxFieldBytes);
    private static readonly int[] FieldCounts = [0, 6, 3, 1];

    /// <summary>Runs the exchange; returns when both sides proved the same code and fingerprints.</summary>
    /// <param name="channel">The open channel, before any other message on it (this reads exactly three).</param>
    /// <param name="code">The code both people typed.</param>
    /// <param name="isOfferer">This side made the SDP offer (the two roles name the participants).</param>
    /// <param name="local">This side's certificate fingerprint.</param>
    /// <param name="remote">The fingerprint the peer's DTLS handshake proved.</param>
    /// <param name="timeout">The most each step may wait for the peer.</param>
    /// <param name="time">The clock for the timeout.</param>
    /// <param name="cancellationToken">Cancels the exchange.</param>
    /// <exception cref="PairingFailedException">The code or the fingerprints differ, the peer sent something else, closed, or did not answer in time.</exception>
    public static async Task RunAsync(IDataChannel channel, PairingCode code, bool isOfferer, DtlsFingerprint local, DtlsFingerprint remote, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentNullException.ThrowIfNull(code);
        ArgumentNullException.ThrowIfNull(local);
        ArgumentNullException.ThrowIfNull(remote);
        ArgumentNullException.ThrowIfNull(time);
        var (me, them) = isOfferer ? ("offerer", "answerer") : ("answerer", "offerer");
        var password = Password(code, isOfferer ? local : remote, isOfferer ? remote : local);
        var participant = new JPakeParticipant(me, password, JPakePrimeOrderGroups.NIST_3072, new Sha256Digest(), new SecureRandom());

        using var deadline = new CancellationTokenSource(timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        await using var incoming = channel.ReceiveAllAsync(linked.Token).GetAsyncEnumerator(linked.Token);
        try
        {
            var round1 = participant.CreateRound1PayloadToSend();
            Send(channel, 1, round1.Gx1, round1.Gx2, round1.KnowledgeProofForX1[0], round1.KnowledgeProofForX1[1], round1.KnowledgeProofForX2[0], round1.KnowledgeProofForX2[1]);
            var theirs1 = await NextAsync(incoming, 1).ConfigureAwait(false);
            participant.ValidateRound1PayloadReceived(new JPakeRound1Payload(them, theirs1[0], theirs1[1], [theirs1[2], theirs1[3]], [theirs1[4], theirs1[5]]));

            deadline.CancelAfter(timeout);
            var round2 = participant.CreateRound2PayloadToSend();
            Send(channel, 2, round2.A, round2.KnowledgeProofForX2s[0], round2.KnowledgeProofForX2s[1]);
            var theirs2 = await NextAsync(incoming, 2).ConfigureAwait(false);
            participant.ValidateRound2PayloadReceived(new JPakeRound2Payload(them, theirs2[0], [theirs2[1], theirs2[2]]));

            deadline.CancelAfter(timeout);
            var keyingMaterial = participant.CalculateKeyingMaterial();
            Send(channel, 3, participant.CreateRound3PayloadToSend(keyingMaterial).MacTag);
            var theirs3 = await NextAsync(incoming, 3).ConfigureAwait(false);
            participant.ValidateRound3PayloadReceived(new JPakeRound3Payload(them, theirs3[0]), keyingMaterial);
        }
        catch (CryptoException ex)
        {
            throw new PairingFailedException(Failed + " (or someone between the peers changed the connection); make a new code to try again", ex);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new PairingFailedException($"{Failed}: the peer did not answer within {timeout.TotalSeconds:F0} s (does it use a pairing code too?)");
        }
        catch (DataChannelClosedException ex)
        {
            throw new PairingFailedException($"{Failed}: the peer closed the connection during pairing", ex);
        }

    }

    /// <summary>The J-PAKE password: SHA-256 over the code and both fingerprints, as hex characters.</summary>
    private static char[] Password(PairingCode code, DtlsFingerprint offerer, DtlsFingerprint answerer)
    {
        var text = Encoding.UTF8.GetBytes($"messenger pairing v1\n{code.Text}\n{offerer}\n{answerer}\n");
        return Convert.ToHexStringLower(SHA256.HashData(text)).ToCharArray();
    }

    private static void Send(IDataChannel channel, byte round, params BigInteger[] fields)
    {
        // Signed two's complement: round 3's MAC tag is a signed number (half of them negative).
        var parts = fields.Select(f => f.ToByteArray()).ToArray();
        var message = new byte[4 + parts.Sum(p => 2 + p.Length)];
        message[0] = (byte)'M';
        message[1] = (byte)'P';
        message[2] = round;
        message[3] = (byte)parts.Length;
        var at = 4;
        foreach (var part in parts)
        {
            BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(at), (ushort)part.Length);
            part.CopyTo(message.AsSpan(at + 2));
            at += 2 + part.Length;
        }

        try
        {
            channel.Send(message);
        }
        catch (ArgumentException ex)
        {
            // Larger than the peer's a=max-message-size: pairing needs messages of about 1.6 KB.
            throw new PairingFailedException($"{Failed}: the peer accepts messages too small for pairing ({ex.Message})", ex);
        }
    }

    private static async Task<BigInteger[]> NextAsync(IAsyncEnumerator<DataChannelMessage> incoming, byte round)
    {
        if (!await incoming.MoveNextAsync().ConfigureAwait(false))
        {
            throw new PairingFailedException($"{Failed}: the peer closed the connection during pairing");
        }

        var message = incoming.Current;
        try
        {
            return Parse(message.Data.Span, message.IsText, round);
        }
        finally
        {
            message.Release();
        }
    }

    /// <summary>Reads one pairing message of <paramref name="round"/>; anything else is a failed pairing.</summary>
    internal static BigInteger[] Parse(ReadOnlySpan<byte> data, bool isText, byte round)
    {
        if (isText || data.Length < 4 || data.Length > MaxMessageBytes || data[0] != 'M' || data[1] != 'P')
        {
            throw new PairingFailedException($"{Failed}: the peer sent something else than a pairing message (does it use a pairing code?)");
        }

        if (data[2] != round || data[3] != FieldCounts[round])
        {
            throw new PairingFailedException($"{Failed}: the peer sent pairing step {data[2]} with {data[3]} fields where step {round} was due");
        }

        var fields = new BigInteger[data[3]];
        var at = 4;
        for (var i = 0; i < fields.Length; i++)
        {
            if (at + 2 > data.Length)
            {
                throw new PairingFailedException($"{Failed}: a pairing message from the peer is cut short");
            }

            var length = BinaryPrimitives.ReadUInt16BigEndian(data[at..]);
            if (length is 0 or > MaxFieldBytes || at + 2 + length > data.Length)
            {
                throw new PairingFailedException($"{Failed}: a pairing message from the peer has a field of a bad length");
            }

            fields[i] = new BigInteger(data.Slice(at + 2, length).ToArray());
            at += 2 + length;
        }

        return at == data.Length ? fields : throw new PairingFailedException($"{Failed}: bytes follow a pairing message from the peer");
    }
}
