using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Messenger.Transport.Dtls;

/// <summary>What one record of a received datagram turned out to be.</summary>
public enum DtlsRecordKind
{
    /// <summary>No more records in the datagram.</summary>
    End,

    /// <summary>Application data, decrypted in place (for WebRTC: one SCTP packet, RFC 8261).</summary>
    ApplicationData,

    /// <summary>The peer closed the connection (close_notify, RFC 5246 §7.2.1).</summary>
    CloseNotify,

    /// <summary>A fatal alert: the connection is over.</summary>
    FatalAlert,

    /// <summary>
    /// A handshake record after the handshake completed: the peer retransmits its last flight because ours was lost;
    /// the server answers by retransmitting its final flight (RFC 6347 §4.2.4).
    /// </summary>
    HandshakeRetransmission,

    /// <summary>Dropped: not authentic, a replay, an unknown epoch or content type, or malformed (RFC 6347 §4.1.2.7).</summary>
    Dropped,
}

/// <summary>
/// DTLS 1.2 record protection once the handshake is over (RFC 6347 §4.1), sans-IO: the connection's loop seals
/// outgoing SCTP packets in place and opens incoming records in place, with the AEAD suites WebRTC negotiates
/// (AES-GCM, RFC 5288; ChaCha20-Poly1305, RFC 7905) through the platform's <see cref="AesGcm"/> and
/// <see cref="ChaCha20Poly1305"/>. BouncyCastle performs only the handshake; its key block is handed over here.
/// Not thread-safe: one loop owns it.
/// </summary>
public sealed class DtlsRecordLayer : IDisposable
{
    /// <summary>type(1) version(2) epoch(2) sequence_number(6) length(2).</summary>
    public const int HeaderLength = 13;

    private const byte ApplicationDataType = 23;
    private const byte AlertType = 21;
    private const byte HandshakeType = 22;
    private const byte ChangeCipherSpecType = 20;
    private const int TagLength = 16;
    private const ushort Epoch = 1;
    private const int ReplayWindowBits = 64;

    private readonly AesGcm? _aesWrite;
    private readonly AesGcm? _aesRead;
    private readonly ChaCha20Poly1305? _chachaWrite;
    private readonly ChaCha20Poly1305? _chachaRead;
    private readonly byte[] _writeIv;
    private readonly byte[] _readIv;
    private readonly int _explicitNonceLength;
    private ulong _writeSequence;
    private ulong _readHighest;
    private ulong _readWindow; // bit i set: _readHighest - i was seen
    private bool _readAny;

    /// <summary>Creates the record layer for one side of a completed handshake.</summary>
    /// <param name="keys">The key block and where the write sequence continues.</param>
    public DtlsRecordLayer(DtlsRecordKeys keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var (writeKey, readKey, writeIv, readIv) = keys.IsClient
            ? (keys.ClientWriteKey, keys.ServerWriteKey, keys.ClientWriteIv, keys.ServerWriteIv)
            : (keys.ServerWriteKey, keys.ClientWriteKey, keys.ServerWriteIv, keys.ClientWriteIv);
        CipherSuite = keys.CipherSuite;
        switch (keys.Aead)
        {
            case DtlsAead.AesGcm:
                _aesWrite = new AesGcm(writeKey, TagLength);
                _aesRead = new AesGcm(readKey, TagLength);
                _explicitNonceLength = 8;
                break;
            case DtlsAead.ChaCha20Poly1305:
                _chachaWrite = new ChaCha20Poly1305(writeKey);
                _chachaRead = new ChaCha20Poly1305(readKey);
                _explicitNonceLength = 0;
                break;
            default:
                throw new ArgumentException($"Unsupported AEAD {keys.Aead}.", nameof(keys));
        }

        _writeIv = writeIv.ToArray();
        _readIv = readIv.ToArray();
        _writeSequence = keys.NextWriteSequence;
    }

    /// <summary>The negotiated TLS cipher suite number.</summary>
    public int CipherSuite { get; }

    /// <summary>Where the plaintext starts in a record: the header, then the explicit nonce (GCM only).</summary>
    public int PlaintextOffset => HeaderLength + _explicitNonceLength;

    /// <summary>Bytes a record adds to its plaintext: header, explicit nonce and tag.</summary>
    public int Overhead => HeaderLength + _explicitNonceLength + TagLength;

    /// <summary>Records sealed so far in this epoch's sequence (the next sequence number).</summary>
    public ulong WriteSequence => _writeSequence;

    /// <summary>
    /// Seals one record in place: the plaintext must already sit at <c>record[PlaintextOffset..]</c>; the header,
    /// nonce and tag are written around it. Returns the record's length.
    /// </summary>
    public int Seal(Span<byte> record, int plaintextLength, byte contentType = ApplicationDataType)
    {
        var length = plaintextLength + Overhead;
        if (record.Length < length)
        {
            throw new ArgumentException($"The record needs {length} bytes; the buffer holds {record.Length}.", nameof(record));
        }

        var sequence = _writeSequence++;
        record[0] = contentType;
        record[1] = 254; // DTLS 1.2 = {254, 253}
        record[2] = 253;
        WriteSequenceNumber(record[3..], sequence);
        BinaryPrimitives.WriteUInt16BigEndian(record[11..], (ushort)(length - HeaderLength));

        Span<byte> aad = stackalloc byte[13];
        WriteAdditionalData(aad, record, plaintextLength);
        Span<byte> nonce = stackalloc byte[12];
        var plaintext = record.Slice(PlaintextOffset, plaintextLength);
        var tag = record.Slice(PlaintextOffset + plaintextLength, TagLength);
        if (_aesWrite is { } aes)
        {
            // RFC 5288 §3: nonce = salt(4) || explicit(8); the explicit part is the record's epoch and sequence.
            _writeIv.AsSpan(0, 4).CopyTo(nonce);
            record.Slice(3, 8).CopyTo(nonce[4..]);
            record.Slice(3, 8).CopyTo(record[HeaderLength..]);
            aes.Encrypt(nonce, plaintext, plaintext, tag, aad);
        }
        else
        {
            ChaChaNonce(nonce, _writeIv, record.Slice(3, 8));
            _chachaWrite!.Encrypt(nonce, plaintext, plaintext, tag, aad);
        }

        return length;
    }

    /// <summary>
    /// Opens the record at <paramref name="offset"/> of <paramref name="datagram"/> in place and moves
    /// <paramref name="offset"/> past it. For <see cref="DtlsRecordKind.ApplicationData"/>, <paramref name="plaintext"/>
    /// is the decrypted payload (a slice of the datagram); for alerts its two bytes.
    /// </summary>
    public DtlsRecordKind Open(Span<byte> datagram, ref int offset, out Span<byte> plaintext)
    {
        plaintext = default;
        if (offset >= datagram.Length)
        {
            return DtlsRecordKind.End;
        }

        var rest = datagram[offset..];
        if (rest.Length < HeaderLength)
        {
            offset = datagram.Length;
            return DtlsRecordKind.Dropped;
        }

        var fragmentLength = BinaryPrimitives.ReadUInt16BigEndian(rest[11..]);
        if (HeaderLength + fragmentLength > rest.Length)
        {
            // RFC 6347 §4.1.2.7: invalid records are silently discarded; a length past the datagram ends it.
            offset = datagram.Length;
            return DtlsRecordKind.Dropped;
        }

        offset += HeaderLength + fragmentLength;
        var type = rest[0];
        if (rest[1] != 254 || (rest[2] != 253 && rest[2] != 255))
        {
            return DtlsRecordKind.Dropped;
        }

        var epoch = BinaryPrimitives.ReadUInt16BigEndian(rest[3..]);
        if (epoch == 0)
        {
            // The peer's unencrypted first flights, retransmitted: it never saw our final flight.
            return type is HandshakeType or ChangeCipherSpecType ? DtlsRecordKind.HandshakeRetransmission : DtlsRecordKind.Dropped;
        }

        if (epoch != Epoch || fragmentLength < _explicitNonceLength + TagLength)
        {
            return DtlsRecordKind.Dropped;
        }

        var sequence = ReadSequenceNumber(rest[5..]);
        if (!MayAccept(sequence))
        {
            return DtlsRecordKind.Dropped; // RFC 6347 §4.1.2.6: a replay
        }

        var plaintextLength = fragmentLength - _explicitNonceLength - TagLength;
        var body = rest.Slice(HeaderLength + _explicitNonceLength, plaintextLength);
        var tag = rest.Slice(HeaderLength + _explicitNonceLength + plaintextLength, TagLength);
        Span<byte> aad = stackalloc byte[13];
        WriteAdditionalData(aad, rest, plaintextLength);
        Span<byte> nonce = stackalloc byte[12];
        try
        {
            if (_aesRead is { } aes)
            {
                _readIv.AsSpan(0, 4).CopyTo(nonce);
                rest.Slice(HeaderLength, 8).CopyTo(nonce[4..]);
                aes.Decrypt(nonce, body, tag, body, aad);
            }
            else
            {
                ChaChaNonce(nonce, _readIv, rest.Slice(3, 8));
                _chachaRead!.Decrypt(nonce, body, tag, body, aad);
            }
        }
        catch (AuthenticationTagMismatchException)
        {
            return DtlsRecordKind.Dropped; // RFC 6347 §4.1.2.7: a forged or damaged record is dropped, not fatal
        }

        Accept(sequence);
        plaintext = body;
        return type switch
        {
            ApplicationDataType => DtlsRecordKind.ApplicationData,
            AlertType when body.Length >= 2 && body[1] == 0 => DtlsRecordKind.CloseNotify,
            AlertType when body.Length >= 2 && body[0] == 2 => DtlsRecordKind.FatalAlert,
            AlertType => DtlsRecordKind.Dropped, // a warning other than close_notify: nothing to do (RFC 5246 §7.2)
            HandshakeType => DtlsRecordKind.HandshakeRetransmission, // the peer's Finished again
            _ => DtlsRecordKind.Dropped,
        };
    }

    /// <summary>Seals a close_notify alert (RFC 5246 §7.2.1) into <paramref name="record"/>; returns its length.</summary>
    public int SealCloseNotify(Span<byte> record)
    {
        record[PlaintextOffset] = 1; // warning
        record[PlaintextOffset + 1] = 0; // close_notify
        return Seal(record, 2, AlertType);
    }

    public void Dispose()
    {
        _aesWrite?.Dispose();
        _aesRead?.Dispose();
        _chachaWrite?.Dispose();
        _chachaRead?.Dispose();
    }

    /// <summary>RFC 5246 §6.2.3.3 with RFC 6347 §4.1.2.1: seq_num(epoch + sequence) || type || version || length.</summary>
    private static void WriteAdditionalData(Span<byte> aad, ReadOnlySpan<byte> header, int plaintextLength)
    {
        header.Slice(3, 8).CopyTo(aad);
        aad[8] = header[0];
        aad[9] = header[1];
        aad[10] = header[2];
        BinaryPrimitives.WriteUInt16BigEndian(aad[11..], (ushort)plaintextLength);
    }

    /// <summary>RFC 7905 §2: the 64-bit epoch and sequence, left-padded to 96 bits, XORed into the write IV.</summary>
    private static void ChaChaNonce(Span<byte> nonce, byte[] iv, ReadOnlySpan<byte> epochAndSequence)
    {
        iv.AsSpan(0, 12).CopyTo(nonce);
        for (var i = 0; i < 8; i++)
        {
            nonce[4 + i] ^= epochAndSequence[i];
        }
    }

    private static void WriteSequenceNumber(Span<byte> destination, ulong sequence)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, Epoch);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)(sequence >> 32));
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], (uint)sequence);
    }

    private static ulong ReadSequenceNumber(ReadOnlySpan<byte> source) =>
        ((ulong)BinaryPrimitives.ReadUInt16BigEndian(source) << 32) | BinaryPrimitives.ReadUInt32BigEndian(source[2..]);

    private bool MayAccept(ulong sequence)
    {
        if (!_readAny || sequence > _readHighest)
        {
            return true;
        }

        var age = _readHighest - sequence;
        return age < ReplayWindowBits && (_readWindow & (1UL << (int)age)) == 0;
    }

    // Only after the record authenticated, so forged sequence numbers cannot move the window (RFC 6347 §4.1.2.6).
    private void Accept(ulong sequence)
    {
        if (!_readAny)
        {
            _readAny = true;
            _readHighest = sequence;
            _readWindow = 1;
            return;
        }

        if (sequence > _readHighest)
        {
            var shift = sequence - _readHighest;
            _readWindow = shift >= ReplayWindowBits ? 1 : (_readWindow << (int)shift) | 1;
            _readHighest = sequence;
        }
        else
        {
            _readWindow |= 1UL << (int)(_readHighest - sequence);
        }
    }
}

/// <summary>The AEAD family of a negotiated cipher suite.</summary>
public enum DtlsAead
{
    AesGcm,
    ChaCha20Poly1305,
}

/// <summary>The record keys of a completed DTLS 1.2 handshake (the RFC 5246 §6.3 key block) and our place in epoch 1.</summary>
public sealed record DtlsRecordKeys
{
    public required int CipherSuite { get; init; }

    public required DtlsAead Aead { get; init; }

    public required bool IsClient { get; init; }

    public required byte[] ClientWriteKey { get; init; }

    public required byte[] ServerWriteKey { get; init; }

    /// <summary>The fixed IV: 4 bytes of salt for GCM, 12 bytes for ChaCha20-Poly1305.</summary>
    public required byte[] ClientWriteIv { get; init; }

    public required byte[] ServerWriteIv { get; init; }

    /// <summary>The next epoch-1 sequence number to write: the handshake's own epoch-1 records (Finished) came before.</summary>
    public required ulong NextWriteSequence { get; init; }
}
