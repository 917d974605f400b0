using System.Buffers.Binary;

namespace Messenger.Transport.Sctp.Chunks;

/// <summary>Outgoing SSN Reset Request (RFC 6525 §4.1): the sender will restart SSNs of these streams at zero.</summary>
internal sealed record OutgoingResetRequest(uint RequestSequence, uint ResponseSequence, uint SenderLastTsn, ushort[] Streams)
{
    public const ushort ParameterType = 13;

    public SctpParameter ToParameter()
    {
        var value = new byte[12 + (2 * Streams.Length)];
        BinaryPrimitives.WriteUInt32BigEndian(value, RequestSequence);
        BinaryPrimitives.WriteUInt32BigEndian(value.AsSpan(4), ResponseSequence);
        BinaryPrimitives.WriteUInt32BigEndian(value.AsSpan(8), SenderLastTsn);
        for (var i = 0; i < Streams.Length; i++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(value.AsSpan(12 + (2 * i)), Streams[i]);
        }

        return new SctpParameter(ParameterType, value);
    }

    public static OutgoingResetRequest Parse(SctpParameter parameter)
    {
        var v = parameter.Value.AsSpan();
        if (parameter.Type != ParameterType || v.Length < 12 || v.Length % 2 != 0)
        {
            throw new SctpParseException($"Outgoing SSN Reset Request is {v.Length} bytes, needs 12 plus 2 per stream.");
        }

        var streams = new ushort[(v.Length - 12) / 2];
        for (var i = 0; i < streams.Length; i++)
        {
            streams[i] = BinaryPrimitives.ReadUInt16BigEndian(v[(12 + (2 * i))..]);
        }

        return new OutgoingResetRequest(
            BinaryPrimitives.ReadUInt32BigEndian(v), BinaryPrimitives.ReadUInt32BigEndian(v[4..]), BinaryPrimitives.ReadUInt32BigEndian(v[8..]), streams);
    }
}

/// <summary>Incoming SSN Reset Request (RFC 6525 §4.2): the peer asks us to reset our outgoing streams.</summary>
internal sealed record IncomingResetRequest(uint RequestSequence, ushort[] Streams)
{
    public const ushort ParameterType = 14;

    public SctpParameter ToParameter()
    {
        var value = new byte[4 + (2 * Streams.Length)];
        BinaryPrimitives.WriteUInt32BigEndian(value, RequestSequence);
        for (var i = 0; i < Streams.Length; i++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(value.AsSpan(4 + (2 * i)), Streams[i]);
        }

        return new SctpParameter(ParameterType, value);
    }

    public static IncomingResetRequest Parse(SctpParameter parameter)
    {
        var v = parameter.Value.AsSpan();
        if (parameter.Type != ParameterType || v.Length < 4 || v.Length % 2 != 0)
        {
            throw new SctpParseException($"Incoming SSN Reset Request is {v.Length} bytes, needs 4 plus 2 per stream.");
        }

        var streams = new ushort[(v.Length - 4) / 2];
        for (var i = 0; i < streams.Length; i++)
        {
            streams[i] = BinaryPrimitives.ReadUInt16BigEndian(v[(4 + (2 * i))..]);
        }

        return new IncomingResetRequest(BinaryPrimitives.ReadUInt32BigEndian(v), streams);
    }
}

/// <summary>Re-configuration Response (RFC 6525 §4.4).</summary>
internal sealed record ReConfigResponse(uint ResponseSequence, ReConfigResult Result)
{
    public const ushort ParameterType = 16;

    public SctpParameter ToParameter()
    {
        var value = new byte[8];
        BinaryPrimitives.WriteUInt32BigEndian(value, ResponseSequence);
        BinaryPrimitives.WriteUInt32BigEndian(value.AsSpan(4), (uint)Result);
        return new SctpParameter(ParameterType, value);
    }

    public static ReConfigResponse Parse(SctpParameter parameter)
    {
        var v = parameter.Value.AsSpan();
        if (parameter.Type != ParameterType || (v.Length != 8 && v.Length != 16))
        {
            throw new SctpParseException($"Re-configuration Response is {v.Length} bytes, needs 8 or 16.");
        }

        return new ReConfigResponse(BinaryPrimitives.ReadUInt32BigEndian(v), (ReConfigResult)BinaryPrimitives.ReadUInt32BigEndian(v[4..]));
    }
}

/// <summary>RFC 6525 §4.4 result codes.</summary>
internal enum ReConfigResult : uint
{
    SuccessNothingToDo = 0,
    SuccessPerformed = 1,
    Denied = 2,
    ErrorWrongSsn = 3,
    ErrorRequestAlreadyInProgress = 4,
    ErrorBadSequenceNumber = 5,
    InProgress = 6,
}
