using System.Buffers.Binary;
using System.Text;
using MessagePack;
using Messenger.Contracts.Framing;
using Messenger.Contracts.Storage;
using Messenger.Host.Chat;
using Messenger.Host.Framing;
using Messenger.Host.Plugins;
using Messenger.Plugins.FileTransfer.Protocol;
using Messenger.Plugins.Storage.SqlCipher;
using Messenger.Transport.DataChannels;
using Messenger.Transport.Ice;
using Messenger.Transport.Pairing;
using Messenger.Transport.Sctp;
using Messenger.Transport.Sdp;
using Messenger.Transport.Signaling;
using Messenger.Transport.Stun;

namespace Messenger.Fuzz;

/// <summary>
/// One entry per parser that reads bytes from the network or the disk. A target feeds the input to the parser the way
/// the product does and lets through only the typed error that parser promises (the one its caller catches); any
/// other exception, a hang or a crash is a finding.
/// </summary>
internal static class FuzzTargets
{
    public static readonly IReadOnlyDictionary<string, Action<byte[]>> All = new Dictionary<string, Action<byte[]>>(StringComparer.Ordinal)
    {
        ["stun"] = Stun,
        ["sdp"] = Sdp,
        ["sdp-blob"] = SdpBlobCode,
        ["ice-candidate"] = Candidate,
        ["sctp"] = Sctp,
        ["dcep"] = Dcep,
        ["frame"] = Frame,
        ["transfer"] = Transfer,
        ["signaling"] = Signaling,
        ["pairing"] = Pairing,
        ["plugins-json"] = PluginsJson,
        ["kdf-header"] = KdfHeaderFile,
    };

    private static readonly Lazy<string> KdfFolder = new(() => Directory.CreateTempSubdirectory("messenger-fuzz-kdf-").FullName);

    private static void Stun(byte[] data) => _ = StunMessage.TryParse(data, out _, out _); // never throws: a bool and an error code

    private static void Sdp(byte[] data)
    {
        var text = Encoding.UTF8.GetString(data);
        foreach (var type in new[] { SdpType.Offer, SdpType.Answer })
        {
            Expect<SdpParseException>(() => SessionDescription.Parse(text, type));
        }
    }

    private static void SdpBlobCode(byte[] data) =>
        Expect<SdpBlobException>(() => SdpBlob.Decode(Encoding.UTF8.GetString(data)));

    private static void Candidate(byte[] data) =>
        Expect<FormatException>(() => IceCandidate.Parse(Encoding.UTF8.GetString(data)));

    // The checksum is set right, so the fuzzer reaches the chunk parsers instead of stopping at CRC-32C.
    private static void Sctp(byte[] data)
    {
        if (data.Length >= 12)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(8), 0);
            BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(8), Crc32C.ComputePacketChecksum(data));
        }

        Expect<SctpParseException>(() => SctpPacket.Parse(data));
    }

    private static void Dcep(byte[] data) => Expect<DcepParseException>(() => DcepOpen.Parse(data));

    // A data-channel message as the session reads it, then the host's own bodies (chat, ack, refusal, close).
    private static void Frame(byte[] data)
    {
        if (!FrameCodec.TryDecode(data, 256 * 1024, out var kind, out var body, out _))
        {
            return;
        }

        Expect<MessagePackSerializationException>(() => MessagePackSerializer.Deserialize<ChatMessageFrame>(body, UntrustedMessagePack.Options));
        Expect<MessagePackSerializationException>(() => MessagePackSerializer.Deserialize<ChatAckFrame>(body, UntrustedMessagePack.Options));
        Expect<MessagePackSerializationException>(() => MessagePackSerializer.Deserialize<ChatRefusedFrame>(body, UntrustedMessagePack.Options));
        Expect<MessagePackSerializationException>(() => MessagePackSerializer.Deserialize<SessionCloseFrame>(body, UntrustedMessagePack.Options));
        _ = kind;
    }

    // The first byte picks the file-transfer frame; the rest is its body.
    private static void Transfer(byte[] data)
    {
        if (data.Length == 0)
        {
            return;
        }

        ReadOnlyMemory<byte> body = data.AsMemory(1);
        if (!MessagePackShape.IsSingleObject(body, out _))
        {
            return; // the session drops such a frame before any handler sees it (FrameCodec.TryDecode)
        }

        Expect<FrameFormatException>(() =>
        {
            _ = (data[0] % 9) switch
            {
                0 => (object)ChunkFrame.Read(body),
                1 => ControlFrameCodec.Read<OfferFrame>(body, f => f.TransferId),
                2 => ControlFrameCodec.Read<AcceptFrame>(body, f => f.TransferId),
                3 => ControlFrameCodec.Read<RejectFrame>(body, f => f.TransferId),
                4 => ControlFrameCodec.Read<AckFrame>(body, f => f.TransferId),
                5 => ControlFrameCodec.Read<EndFrame>(body, f => f.TransferId),
                6 => ControlFrameCodec.Read<VerifyFrame>(body, f => f.TransferId),
                7 => ControlFrameCodec.Read<CancelFrame>(body, f => f.TransferId),
                _ => ControlFrameCodec.Read<FailFrame>(body, f => f.TransferId),
            };
        });
    }

    // What the relay reads from a client: lines, the first a join.
    private static void Signaling(byte[] data) => Expect<SignalingProtocolException>(() =>
    {
        var lines = SignalingLines.ReadAsync(new MemoryStream(data), CancellationToken.None).GetAsyncEnumerator();
        try
        {
            while (lines.MoveNextAsync().AsTask().GetAwaiter().GetResult())
            {
                SignalingLines.ParseJoin(lines.Current);
            }
        }
        finally
        {
            lines.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    });

    // The first byte: the round (low two bits) and whether the message came as text (bit 2).
    private static void Pairing(byte[] data)
    {
        if (data.Length == 0)
        {
            return;
        }

        Expect<PairingFailedException>(() => PairingHandshake.Parse(data.AsSpan(1), (data[0] & 4) != 0, (byte)(data[0] & 3)));
    }

    private static void PluginsJson(byte[] data) =>
        Expect<PluginsConfigurationException>(() => PluginsFile.Parse(Encoding.UTF8.GetString(data), "/fuzz/plugins.json"));

    private static void KdfHeaderFile(byte[] data)
    {
        File.WriteAllBytes(Path.Combine(KdfFolder.Value, KdfHeader.FileName), data);
        Expect<StorageException>(() => KdfHeader.Read(KdfFolder.Value));
    }

    /// <summary>Runs <paramref name="parse"/>; the promised <typeparamref name="TError"/> is a fine outcome, anything else propagates.</summary>
    private static void Expect<TError>(Action parse)
        where TError : Exception
    {
        try
        {
            parse();
        }
        catch (TError)
        {
            // The parser's typed refusal: what its caller catches and reports.
        }
    }
}
