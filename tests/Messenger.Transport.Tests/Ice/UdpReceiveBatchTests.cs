using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Messenger.Transport.Ice;

namespace Messenger.Transport.Tests.Ice;

/// <summary>The loop's receive: batches, GRO runs, the wait bound and the portable fallback.</summary>
public class UdpReceiveBatchTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Receive_NothingQueued_ReturnsZeroAfterTheTimeoutAndAtOnceWithoutWaiting(bool batched)
    {
        using var socket = Bind();
        using var batch = new UdpReceiveBatch(socket, batched);
        batch.SetTimeout(TimeSpan.FromMilliseconds(150));

        Assert.Equal(0, batch.Receive(wait: false));
        var clock = Stopwatch.StartNew();
        Assert.Equal(0, batch.Receive(wait: true));
        Assert.InRange(clock.ElapsedMilliseconds, 100, 5000); // bounded, not for ever and not at once
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Receive_SeveralQueued_TakesThemAllWithTheirSource(bool batched)
    {
        using var socket = Bind();
        using var sender = Bind();
        using var batch = new UdpReceiveBatch(socket, batched);
        batch.SetTimeout(TimeSpan.FromSeconds(5));
        for (var i = 0; i < 20; i++)
        {
            sender.SendTo(Enumerable.Repeat((byte)i, 100 + i).ToArray(), socket.LocalEndPoint!);
        }

        var datagrams = new List<byte[]>();
        while (datagrams.Count < 20)
        {
            var count = batch.Receive(wait: true);
            Assert.True(count > 0);
            for (var b = 0; b < count; b++)
            {
                Assert.Equal(sender.LocalEndPoint, batch.SourceEndPoint(b));
                var data = batch.Buffer(b).ToArray();
                for (var offset = 0; offset < data.Length; offset += batch.SegmentSize(b))
                {
                    datagrams.Add(data[offset..Math.Min(data.Length, offset + batch.SegmentSize(b))]);
                }
            }
        }

        Assert.Equal(Enumerable.Range(0, 20).Select(i => 100 + i), datagrams.Select(d => d.Length));
        Assert.All(datagrams, d => Assert.All(d, x => Assert.Equal(d.Length - 100, x)));
    }

    private static Socket Bind()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return socket;
    }
}
