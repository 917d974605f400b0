using System.Text;
using MessagePack;
using Messenger.Host.Chat;
using Messenger.Host.Framing;
using Messenger.Plugins.FileTransfer.Protocol;
using Messenger.Transport;
using Messenger.Transport.DataChannels;
using Messenger.Transport.Sctp;
using Messenger.Transport.Sctp.Chunks;
using Messenger.Transport.Sdp;
using Messenger.Transport.Stun;

namespace Messenger.Fuzz;

/// <summary>Writes the starting corpus of each target with the product's own writers (what real peers send).</summary>
internal static class Seeds
{
    public static async Task WriteAsync(string root)
    {
        await using var connection = new PeerConnection(new PeerConnectionOptions { Ice = new Messenger.Transport.Ice.IceTransportOptions { BindAddress = System.Net.IPAddress.Loopback, IncludeLoopback = true } });
        var offer = connection.CreateOffer();
        var stunRequest = new StunMessage(StunClass.Request, StunMethod.Binding, StunTransactionId.NewId()).AddUsername("remote:local").AddSoftware("messenger");
        var data = new SctpPacket { SourcePort = 5000, DestinationPort = 5000, VerificationTag = 0x01020304 };
        data.Chunks.Add(new DataChunk { DataFlags = 3, Tsn = 1, StreamId = 1, StreamSequenceNumber = 0, PayloadProtocolId = 53, Payload = "hello"u8.ToArray() });
        var chat = MessagePackSerializer.Serialize(new ChatMessageFrame { Id = "m1", SentAtUnixMilliseconds = 1_700_000_000_000, Text = "hi" }, UntrustedMessagePack.Options);
        var offerFrame = ControlFrameCodec.Write(new OfferFrame { TransferId = "t1", FileName = "photo.jpg", Size = 123456, MediaType = "image/jpeg", ChunkSize = 16384 });
        var chunk = new System.Buffers.ArrayBufferWriter<byte>();
        ChunkFrame.Write(chunk, "t1", 0, "payload"u8);

        var seeds = new Dictionary<string, (string Name, byte[] Bytes)[]>
        {
            ["stun"] = [("binding-request", stunRequest.Encode("0123456789abcdef01234567"u8, fingerprint: true)), ("bare", stunRequest.Encode())],
            ["sdp"] = [("offer", Encoding.UTF8.GetBytes(offer.ToString()))],
            ["sdp-blob"] = [("offer-code", Encoding.UTF8.GetBytes(SdpBlob.Encode(offer)))],
            ["ice-candidate"] = [("host", Encoding.UTF8.GetBytes("a=" + offer.Candidates[0]))],
            ["sctp"] = [("data", data.Serialize())],
            ["dcep"] = [("open", new DcepOpen(DataChannelType.Reliable, 0, 0, "messenger", "").Serialize())],
            ["frame"] = [("chat", FrameCodec.Encode(HostFrameKinds.ChatMessage, chat)), ("ack", FrameCodec.Encode(HostFrameKinds.ChatAck, MessagePackSerializer.Serialize(new ChatAckFrame { Id = "m1" }, UntrustedMessagePack.Options)))],
            ["transfer"] = [("offer", [1, .. offerFrame]), ("chunk", [0, .. chunk.WrittenSpan]), ("accept", [2, .. ControlFrameCodec.Write(new AcceptFrame { TransferId = "t1", ResumeOffset = 32768 })])],
            ["signaling"] = [("join-then-offer", Encoding.UTF8.GetBytes("{\"type\":\"join\",\"room\":\"kitchen\"}\n{\"type\":\"offer\",\"sdp\":\"v=0\"}\n"))],
            ["pairing"] = [("round-1", [1, (byte)'M', (byte)'P', 1, 6, 0, 1, 7, 0, 1, 9, 0, 2, 1, 0, 0, 1, 3, 0, 1, 5, 0, 1, 11])],
            ["plugins-json"] = [("entry", Encoding.UTF8.GetBytes("{ \"plugins\": [ { \"name\": \"Storage\", \"folder\": \"artifacts/plugins/Messenger.Plugins.Storage.SqlCipher\", // the store\n \"settings\": { \"path\": \"~/x\" } } ] }"))],
            ["kdf-header"] = [("header", [.. "MSGRKDF1"u8, 0, 0, 1, 0, 3, 0, 0, 0, 1, 0, 0, 0, .. new byte[16]])],
        };
        foreach (var (target, files) in seeds)
        {
            var folder = Directory.CreateDirectory(Path.Combine(root, target)).FullName;
            foreach (var (name, bytes) in files)
            {
                await File.WriteAllBytesAsync(Path.Combine(folder, name), bytes);
            }
        }
    }
}
