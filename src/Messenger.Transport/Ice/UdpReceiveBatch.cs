using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Messenger.Transport.Ice;

/// <summary>
/// Receives datagrams in batches for a connection's loop: on 64-bit Linux one blocking <c>recvmmsg</c> returns every
/// datagram queued (up to <see cref="Capacity"/> buffers), and with UDP GRO (Linux 5.0+) each buffer may hold a run
/// of same-sized datagrams from one sender, so a burst costs a syscall or two instead of one each. Elsewhere, or when
/// the kernel refuses, it falls back to one <see cref="Socket.ReceiveFrom(Span{byte}, SocketFlags, SocketAddress)"/>
/// per datagram. The wait is bounded by <see cref="SetTimeout"/> (SO_RCVTIMEO); another thread wakes it by sending a
/// datagram to the socket itself. Not thread-safe: the loop alone receives.
/// </summary>
internal sealed unsafe partial class UdpReceiveBatch : IDisposable
{
    public const int Capacity = 16;
    private const int BufferSize = 65536;
    private const int ControlSize = 64;
    private const int NameSize = 128; // sockaddr_storage
    private const int SolSocket = 1;
    private const int SoReceiveTimeout = 20;
    private const int SolUdp = 17;
    private const int UdpGro = 104;
    private const int MsgWaitForOne = 0x10000;
    private const int MsgDontWait = 0x40;

    private readonly Socket _socket;
    private readonly byte[] _buffers;
    private readonly byte* _buffersPointer;
    private readonly GCHandle _buffersHandle;
    private readonly nint _native; // mmsghdr[Capacity], iovec[Capacity], names, controls
    private readonly SocketAddress _fallbackSource;
    private readonly int[] _lengths = new int[Capacity];
    private readonly int[] _segmentSizes = new int[Capacity];
    private readonly int[] _nameLengths = new int[Capacity];
    private TimeSpan _timeout = TimeSpan.MinValue;
    private int _count;
    private bool _native64;

    public UdpReceiveBatch(Socket socket, bool batched = true)
    {
        _socket = socket;
        _native64 = batched && UdpSegmentBatch.IsPlatformSupported;
        _buffers = GC.AllocateUninitializedArray<byte>(BufferSize * Capacity, pinned: true);
        _buffersHandle = GCHandle.Alloc(_buffers, GCHandleType.Pinned);
        _buffersPointer = (byte*)_buffersHandle.AddrOfPinnedObject();
        _fallbackSource = new SocketAddress(socket.AddressFamily);
        _native = Marshal.AllocHGlobal((sizeof(MultiMessageHeader) + sizeof(IoVector) + NameSize + ControlSize) * Capacity);
        if (_native64)
        {
            Prepare();
            GroEnabled = TryEnableGro();
        }
    }

    /// <summary>True when the kernel coalesces datagrams into one buffer (UDP_GRO).</summary>
    public bool GroEnabled { get; }

    /// <summary>Buffers filled by the last <see cref="Receive"/>.</summary>
    public int Count => _count;

    /// <summary>Bytes in buffer <paramref name="index"/>: one datagram, or a GRO run of <see cref="SegmentSize"/>-byte ones.</summary>
    public Span<byte> Buffer(int index) => _buffers.AsSpan(index * BufferSize, _lengths[index]);

    /// <summary>The size of each datagram in buffer <paramref name="index"/> (the last may be shorter).</summary>
    public int SegmentSize(int index) => _segmentSizes[index];

    /// <summary>The sender of buffer <paramref name="index"/> as the kernel wrote it (a native sockaddr).</summary>
    public ReadOnlySpan<byte> Source(int index) => _native64
        ? new ReadOnlySpan<byte>(NamePointer(index), _nameLengths[index])
        : _fallbackSource.Buffer.Span[.._fallbackSource.Size];

    /// <summary>The sender of buffer <paramref name="index"/> as an endpoint (allocates: for the rare STUN datagram).</summary>
    public IPEndPoint SourceEndPoint(int index)
    {
        var address = new SocketAddress(_socket.AddressFamily, Source(index).Length);
        Source(index).CopyTo(address.Buffer.Span);
        var template = _socket.AddressFamily == AddressFamily.InterNetworkV6 ? new IPEndPoint(IPAddress.IPv6Any, 0) : new IPEndPoint(IPAddress.Any, 0);
        var endPoint = (IPEndPoint)template.Create(address);
        return endPoint.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(endPoint.Address.MapToIPv4(), endPoint.Port) : endPoint;
    }

    /// <summary>How long the next <see cref="Receive"/> may wait for its first datagram; <see cref="Timeout.InfiniteTimeSpan"/> for ever.</summary>
    public void SetTimeout(TimeSpan timeout)
    {
        // Whole milliseconds, at least one: an SO_RCVTIMEO of zero means "for ever".
        var rounded = timeout == Timeout.InfiniteTimeSpan ? TimeSpan.Zero : TimeSpan.FromMilliseconds(Math.Max(1, Math.Ceiling(timeout.TotalMilliseconds)));
        if (rounded == _timeout)
        {
            return;
        }

        _timeout = rounded;
        try
        {
            if (!_native64 || !TrySetNativeTimeout(rounded))
            {
                _socket.ReceiveTimeout = (int)Math.Min(int.MaxValue, rounded.TotalMilliseconds);
            }
        }
        catch (ObjectDisposedException)
        {
            // Closing: the next receive says so.
        }
    }

    private bool TrySetNativeTimeout(TimeSpan timeout)
    {
        var handle = _socket.SafeHandle;
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            var ticks = timeout.Ticks;
            var value = new TimeValue { Seconds = ticks / TimeSpan.TicksPerSecond, Microseconds = ticks % TimeSpan.TicksPerSecond / 10 };
            return SetSocketOption((int)handle.DangerousGetHandle(), SolSocket, SoReceiveTimeout, &value, (uint)sizeof(TimeValue)) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// Takes every datagram queued, waiting up to the timeout for the first when <paramref name="wait"/>; returns the
    /// number of buffers filled (0 when none came). Throws <see cref="ObjectDisposedException"/> once the socket is closed.
    /// </summary>
    public int Receive(bool wait)
    {
        _count = 0;
        if (_native64)
        {
            var received = ReceiveNative(wait ? MsgWaitForOne : MsgDontWait);
            if (received >= 0)
            {
                _count = received;
                return received;
            }
        }

        if (!wait && _socket.Available == 0)
        {
            return 0;
        }

        try
        {
            _lengths[0] = _socket.ReceiveFrom(_buffers.AsSpan(0, BufferSize), SocketFlags.None, _fallbackSource);
            _segmentSizes[0] = _lengths[0];
            _count = 1;
            return 1;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
        {
            return 0;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionRefused or SocketError.MessageSize)
        {
            return 0; // an ICMP error from an earlier send; the agent's timers deal with silence
        }
    }

    /// <summary>-1 when the native path is unusable (the caller falls back), else the buffers filled.</summary>
    private int ReceiveNative(int flags)
    {
        var handle = _socket.SafeHandle;
        var added = false;
        int received;
        try
        {
            handle.DangerousAddRef(ref added);
            for (var i = 0; i < Capacity; i++)
            {
                // The kernel overwrites these on every call.
                var header = MessagePointer(i);
                header->Header.NameLength = NameSize;
                header->Header.ControlLength = ControlSize;
                header->Header.Flags = 0;
                header->Length = 0;
            }

            received = ReceiveMultiple((int)handle.DangerousGetHandle(), MessagePointer(0), Capacity, flags, null);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            _native64 = false;
            return -1;
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }

        if (received < 0)
        {
            var error = Marshal.GetLastPInvokeError();
            return error switch
            {
                Errno.Again or Errno.Interrupted or Errno.ConnectionRefused => 0,
                Errno.BadDescriptor => throw new ObjectDisposedException(nameof(Socket)),
                Errno.NotSupported or Errno.InvalidArgument or Errno.NoSystemCall => Disable(),
                _ => 0,
            };
        }

        for (var i = 0; i < received; i++)
        {
            var header = MessagePointer(i);
            _lengths[i] = (int)header->Length;
            _nameLengths[i] = (int)header->Header.NameLength;
            _segmentSizes[i] = GroSegmentSize(header) ?? _lengths[i];
        }

        return received;
    }

    private int Disable()
    {
        _native64 = false;
        return -1;
    }

    private static int? GroSegmentSize(MultiMessageHeader* header)
    {
        var control = (byte*)header->Header.Control;
        var length = (int)header->Header.ControlLength;
        for (var offset = 0; offset + sizeof(CmsgHeader) <= length;)
        {
            var cmsg = (CmsgHeader*)(control + offset);
            if (cmsg->Length < (nuint)sizeof(CmsgHeader))
            {
                break;
            }

            if (cmsg->Level == SolUdp && cmsg->Type == UdpGro)
            {
                var size = *(int*)(control + offset + sizeof(CmsgHeader));
                return size > 0 ? size : null;
            }

            offset += (int)((cmsg->Length + 7) & ~(nuint)7);
        }

        return null;
    }

    private void Prepare()
    {
        for (var i = 0; i < Capacity; i++)
        {
            var vector = VectorPointer(i);
            vector->Base = _buffersPointer + (i * BufferSize);
            vector->Length = BufferSize;
            var header = MessagePointer(i);
            header->Header.Name = NamePointer(i);
            header->Header.Vectors = vector;
            header->Header.VectorCount = 1;
            header->Header.Control = ControlPointer(i);
        }
    }

    private bool TryEnableGro()
    {
        var handle = _socket.SafeHandle;
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            var on = 1;
            return SetSocketOption((int)handle.DangerousGetHandle(), SolUdp, UdpGro, &on, sizeof(int)) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            _native64 = false;
            return false;
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    private MultiMessageHeader* MessagePointer(int index) => (MultiMessageHeader*)_native + index;

    private IoVector* VectorPointer(int index) => (IoVector*)((byte*)_native + (sizeof(MultiMessageHeader) * Capacity)) + index;

    private byte* NamePointer(int index) => (byte*)_native + ((sizeof(MultiMessageHeader) + sizeof(IoVector)) * Capacity) + (index * NameSize);

    private byte* ControlPointer(int index) => (byte*)_native + ((sizeof(MultiMessageHeader) + sizeof(IoVector) + NameSize) * Capacity) + (index * ControlSize);

    public void Dispose()
    {
        Marshal.FreeHGlobal(_native);
        _buffersHandle.Free();
    }

    [LibraryImport("libc", EntryPoint = "recvmmsg", SetLastError = true)]
    private static partial int ReceiveMultiple(int socket, MultiMessageHeader* messages, uint count, int flags, void* timeout);

    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    private static partial int SetSocketOption(int socket, int level, int name, void* value, uint length);

    private static class Errno
    {
        public const int Interrupted = 4;
        public const int BadDescriptor = 9;
        public const int Again = 11;
        public const int InvalidArgument = 22;
        public const int NoSystemCall = 38;
        public const int NotSupported = 95;
        public const int ConnectionRefused = 111;
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
    private struct MultiMessageHeader
    {
        public MessageHeader Header;
        public uint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeValue
    {
        public long Seconds;
        public long Microseconds;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct CmsgHeader
    {
        public nuint Length;
        public int Level;
        public int Type;
    }
}
