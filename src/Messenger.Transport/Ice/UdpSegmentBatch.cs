using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Messenger.Transport.Ice;

/// <summary>
/// Gathers datagrams for one destination and sends them with one <c>sendmsg</c> and the Linux UDP_SEGMENT option
/// (UDP GSO, Linux 4.18+): the kernel cuts the buffer into datagrams of the segment size, so each datagram on the wire
/// is exactly what would have been sent alone. .NET has no API for it, hence the P/Invoke. A batch is a run of
/// datagrams of one size, the last one possibly shorter; anything else flushes first. When the kernel refuses
/// (no GSO, an old kernel), the batch goes out datagram by datagram and batching stays off.
/// </summary>
internal sealed unsafe partial class UdpSegmentBatch(Socket socket)
{
    private const int SolUdp = 17;
    private const int UdpSegment = 103;
    private const int MaxSegments = 64;           // UDP_MAX_SEGMENTS on older kernels
    private const int MaxBatchBytes = 65507 - 64; // one UDP datagram's payload limit, with room to spare

    private readonly byte[] _buffer = GC.AllocateUninitializedArray<byte>(65536, pinned: true);
    private SocketAddress? _destination;
    private int _length;
    private int _segmentSize;
    private int _count;
    private bool _ended;

    /// <summary>Whether the platform can do it: 64-bit Linux (the msghdr layout below is the LP64 one).</summary>
    public static bool IsPlatformSupported => OperatingSystem.IsLinux() && Environment.Is64BitProcess;

    /// <summary>False once the kernel refused a segmented send; datagrams then go out one by one.</summary>
    public bool Enabled { get; private set; } = IsPlatformSupported;

    /// <summary>Datagrams sent in segmented sends, and the sends that carried them (for the benchmark).</summary>
    public long SegmentedDatagrams { get; private set; }

    public long SegmentedSends { get; private set; }

    public void Add(ReadOnlySpan<byte> datagram, SocketAddress destination)
    {
        if (!Enabled || datagram.Length == 0 || datagram.Length > _buffer.Length)
        {
            Flush();
            SendOne(datagram, destination);
            return;
        }

        if (_count > 0 && (_ended || datagram.Length > _segmentSize || _count == MaxSegments
            || _length + datagram.Length > MaxBatchBytes || !ReferenceEquals(destination, _destination)))
        {
            Flush();
        }

        if (_count == 0)
        {
            _segmentSize = datagram.Length;
            _destination = destination;
        }

        datagram.CopyTo(_buffer.AsSpan(_length));
        _length += datagram.Length;
        _count++;
        _ended = datagram.Length < _segmentSize; // only the last segment may be shorter
    }

    /// <summary>
    /// Room for the next datagram at the end of the batch, so it can be built (and encrypted) in place: write at most
    /// <paramref name="maxLength"/> bytes into it, then <see cref="Commit"/> the length.
    /// </summary>
    public Span<byte> Reserve(int maxLength)
    {
        if (!Enabled || _length + maxLength > MaxBatchBytes)
        {
            Flush();
        }

        return _buffer.AsSpan(_length, maxLength);
    }

    /// <summary>Adds the datagram written into the span <see cref="Reserve"/> returned.</summary>
    public void Commit(int length, SocketAddress destination)
    {
        if (!Enabled || length == 0)
        {
            if (length > 0)
            {
                SendOne(_buffer.AsSpan(_length, length), destination);
            }

            return;
        }

        if (_count > 0 && (_ended || length > _segmentSize || _count == MaxSegments || !ReferenceEquals(destination, _destination)))
        {
            // It cannot join this run: send the run, then the datagram starts the next one at the front.
            var start = _length;
            Flush();
            _buffer.AsSpan(start, length).CopyTo(_buffer);
        }

        if (_count == 0)
        {
            _segmentSize = length;
            _destination = destination;
        }

        _length += length;
        _count++;
        _ended = length < _segmentSize;
    }

    public void Flush()
    {
        if (_count == 0)
        {
            return;
        }

        var destination = _destination!;
        try
        {
            if (_count == 1)
            {
                SendOne(_buffer.AsSpan(0, _length), destination);
            }
            else if (!TrySendSegmented(destination))
            {
                for (var offset = 0; offset < _length; offset += _segmentSize)
                {
                    SendOne(_buffer.AsSpan(offset, Math.Min(_segmentSize, _length - offset)), destination);
                }
            }
        }
        finally
        {
            _count = 0;
            _length = 0;
            _ended = false;
            _destination = null;
        }
    }

    private bool TrySendSegmented(SocketAddress destination)
    {
        var address = destination.Buffer.Span[..destination.Size];
        var control = stackalloc byte[24]; // CMSG_SPACE(sizeof(uint16_t)) on LP64
        new Span<byte>(control, 24).Clear();
        var header = (CmsgHeader*)control;
        header->Length = (nuint)(sizeof(CmsgHeader) + sizeof(ushort));
        header->Level = SolUdp;
        header->Type = UdpSegment;
        *(ushort*)(control + sizeof(CmsgHeader)) = (ushort)_segmentSize;

        fixed (byte* name = address)
        fixed (byte* data = _buffer)
        {
            var vector = new IoVector { Base = data, Length = (nuint)_length };
            var message = new MessageHeader
            {
                Name = name,
                NameLength = (uint)address.Length,
                Vectors = &vector,
                VectorCount = 1,
                Control = control,
                ControlLength = 24,
            };
            // The reference keeps the descriptor open (and unreused) for the duration of the call.
            var handle = socket.SafeHandle;
            var added = false;
            nint sent;
            try
            {
                handle.DangerousAddRef(ref added);
                sent = SendMessage((int)handle.DangerousGetHandle(), &message, 0);
            }
            catch (ObjectDisposedException)
            {
                return true; // closed concurrently: the batch is dropped, as single sends would be
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                Enabled = false; // no usable libc sendmsg (an unusual libc): one send per datagram from now on
                return false;
            }
            finally
            {
                if (added)
                {
                    handle.DangerousRelease();
                }
            }

            if (sent >= 0)
            {
                SegmentedDatagrams += _count;
                SegmentedSends++;
                return true;
            }
        }

        switch (Marshal.GetLastPInvokeError())
        {
            case Errno.Again or Errno.NoBuffers:
                return true; // a full socket buffer: loss, as for a single datagram; SCTP retransmits
            case Errno.InputOutput or Errno.InvalidArgument or Errno.NoProtocolOption or Errno.NotSupported:
                // No GSO on the route's device, a segment above its MTU, or a kernel without UDP_SEGMENT: stop trying.
                Enabled = false;
                return false;
            default:
                return false; // anything else (unreachable, EMSGSIZE): this batch one by one, where errors are loss
        }
    }

    private void SendOne(ReadOnlySpan<byte> datagram, SocketAddress destination)
    {
        try
        {
            socket.SendTo(datagram, SocketFlags.None, destination);
        }
        catch (SocketException)
        {
            // UDP gives no delivery promise: a full buffer or an unreachable peer is loss, which every layer above retries.
        }
        catch (ObjectDisposedException)
        {
            // Closed concurrently.
        }
    }

    // "libc" resolves to glibc's libc.so.6 through the runtime's probing; a failure to load turns batching off above.
    [LibraryImport("libc", EntryPoint = "sendmsg", SetLastError = true)]
    private static partial nint SendMessage(int socket, MessageHeader* message, int flags);

    private static class Errno
    {
        public const int InputOutput = 5;
        public const int Again = 11;
        public const int InvalidArgument = 22;
        public const int NoProtocolOption = 92;
        public const int NotSupported = 95;
        public const int NoBuffers = 105;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVector
    {
        public byte* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MessageHeader
    {
        public byte* Name;
        public uint NameLength;
        public IoVector* Vectors;
        public nuint VectorCount;
        public byte* Control;
        public nuint ControlLength;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct CmsgHeader
    {
        public nuint Length;
        public int Level;
        public int Type;
    }
}
