using System.Buffers.Binary;
using System.Text;

namespace Messenger.Transport.DataChannels;

/// <summary>RFC 8832 §5.1 channel types: the reliability mode, with 0x80 set for unordered.</summary>
internal enum DataChannelType : byte
{
    Reliable = 0x00,
    PartialReliableRexmit = 0x01,
    PartialReliableTimed = 0x02,
    ReliableUnordered = 0x80,
    PartialReliableRexmitUnordered = 0x81,
    PartialReliableTimedUnordered = 0x82,
}

/// <summary>Thrown when a DCEP message (RFC 8832) is malformed.</summary>
public sealed class DcepParseException : FormatException
{
    public DcepParseException()
        : base("Malformed DCEP message.")
    {
    }

    public DcepParseException(string message)
        : base(message)
    {
    }

    public DcepParseException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>DATA_CHANNEL_OPEN (RFC 8832 §5.1).</summary>
internal sealed record DcepOpen(DataChannelType ChannelType, ushort Priority, uint ReliabilityParameter, string Label, string Protocol)
{
    public const byte MessageType = 0x03;
    public const byte AckMessageType = 0x02;
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public bool Ordered => ((byte)ChannelType & 0x80) == 0;

    public byte[] Serialize()
    {
        var label = StrictUtf8.GetBytes(Label);
        var protocol = StrictUtf8.GetBytes(Protocol);
        if (label.Length > ushort.MaxValue || protocol.Length > ushort.MaxValue)
        {
            throw new ArgumentException("The label and protocol must each fit 65535 UTF-8 bytes.");
        }

        var message = new byte[12 + label.Length + protocol.Length];
        message[0] = MessageType;
        message[1] = (byte)ChannelType;
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(2), Priority);
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(4), ReliabilityParameter);
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(8), (ushort)label.Length);
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(10), (ushort)protocol.Length);
        label.CopyTo(message, 12);
        protocol.CopyTo(message, 12 + label.Length);
        return message;
    }

    public static DcepOpen Parse(ReadOnlySpan<byte> message)
    {
        if (message.Length < 12 || message[0] != MessageType)
        {
            throw new DcepParseException($"DATA_CHANNEL_OPEN needs 12 bytes and type 3; got {message.Length} bytes.");
        }

        var type = (DataChannelType)message[1];
        if (!Enum.IsDefined(type))
        {
            throw new DcepParseException($"Unknown data channel type 0x{message[1]:X2}.");
        }

        int labelLength = BinaryPrimitives.ReadUInt16BigEndian(message[8..]);
        int protocolLength = BinaryPrimitives.ReadUInt16BigEndian(message[10..]);
        if (message.Length != 12 + labelLength + protocolLength)
        {
            throw new DcepParseException($"DATA_CHANNEL_OPEN is {message.Length} bytes but its label and protocol need {12 + labelLength + protocolLength}.");
        }

        try
        {
            return new DcepOpen(
                type,
                BinaryPrimitives.ReadUInt16BigEndian(message[2..]),
                BinaryPrimitives.ReadUInt32BigEndian(message[4..]),
                StrictUtf8.GetString(message.Slice(12, labelLength)),
                StrictUtf8.GetString(message.Slice(12 + labelLength, protocolLength)));
        }
        catch (DecoderFallbackException ex)
        {
            throw new DcepParseException("The label or protocol is not valid UTF-8.", ex);
        }
    }
}
