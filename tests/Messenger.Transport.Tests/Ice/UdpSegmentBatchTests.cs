using System.Net;
using System.Net.Sockets;
using Messenger.Transport.Ice;

namespace Messenger.Transport.Tests.Ice;

/// <summary>UDP GSO batches over real sockets on 127.0.0.1: the receiver must see exactly the datagrams added.</summary>
public class UdpSegmentBatchTests
{
    private static Socket Bind()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveBufferSize = 4 << 20 };
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return socket;
    }

    private static List<byte[]> ReceiveAll(Socket socket, int count)
    {
        socket.ReceiveTimeout = 5000;
        var buffer = new byte[65536];
        var received = new List<byte[]>();
        while (received.Count < count)
        {
            var length = socket.Receive(buffer);
            received.Add(buffer[..length]);
        }

        return received;
    }

    [Fact]
    public void Flush_RunsOfEqualSizesShortTailsAndOtherSizes_ReceiverGetsEachDatagramUnchanged()
    {
        using var sender = Bind();
        using var receiver = Bind();
        var destination = receiver.LocalEndPoint!.Serialize();
        var batch = new UdpSegmentBatch(sender);
        var random = new Random(4);
        var sizes = new[] { 1229, 1229, 1229, 1229, 700, 1229, 1229, 60, 60, 80, 1229, 300 }.Concat(Enumerable.Repeat(1229, 70)).ToArray();
        var datagrams = sizes.Select(size => { var d = new byte[size]; random.NextBytes(d); return d; }).ToList();

        foreach (var datagram in datagrams)
        {
            batch.Add(datagram, destination);
        }

        batch.Flush();
        var received = ReceiveAll(receiver, datagrams.Count);

        Assert.Equal(datagrams, received);
        if (UdpSegmentBatch.IsPlatformSupported && batch.Enabled)
        {
            Assert.True(batch.SegmentedSends > 0);
            Assert.True(batch.SegmentedDatagrams > batch.SegmentedSends);
        }
    }

    [Fact]
    public void Add_TwoDestinations_EachGetsItsOwnDatagrams()
    {
        using var sender = Bind();
        using var first = Bind();
        using var second = Bind();
        var toFirst = first.LocalEndPoint!.Serialize();
        var toSecond = second.LocalEndPoint!.Serialize();
        var batch = new UdpSegmentBatch(sender);

        batch.Add(new byte[] { 1, 1 }, toFirst);
        batch.Add(new byte[] { 1, 2 }, toFirst);
        batch.Add(new byte[] { 2, 1 }, toSecond);
        batch.Add(new byte[] { 1, 3 }, toFirst);
        batch.Flush();

        Assert.Equal([[1, 1], [1, 2], [1, 3]], ReceiveAll(first, 3));
        Assert.Equal([[2, 1]], ReceiveAll(second, 1));
    }

    [Fact]
    public void Flush_SocketClosedMeanwhile_DropsTheBatchWithoutThrowing()
    {
        var sender = Bind();
        using var receiver = Bind();
        var destination = receiver.LocalEndPoint!.Serialize();
        var batch = new UdpSegmentBatch(sender);
        batch.Add(new byte[1200], destination);
        batch.Add(new byte[1200], destination);

        sender.Dispose();
        batch.Flush();
        batch.Add(new byte[1200], destination);
        batch.Flush();

        Assert.Equal(0, batch.SegmentedSends);
    }
}
