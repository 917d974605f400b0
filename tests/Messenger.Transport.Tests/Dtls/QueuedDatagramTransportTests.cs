using Messenger.Transport.Dtls;

namespace Messenger.Transport.Tests.Dtls;

public class QueuedDatagramTransportTests
{
    [Fact]
    public void Deliver_DatagramsOfManySizes_ReceivedInOrderWithExactBytes()
    {
        using var transport = new QueuedDatagramTransport((DatagramSender)(_ => { }), maxDatagramSize: 1472);
        var random = new Random(7983);
        var sent = Enumerable.Range(0, 300).Select(i => { var d = new byte[i % 7 == 0 ? 0 : random.Next(1, 1473)]; random.NextBytes(d); return d; }).ToList();

        foreach (var datagram in sent)
        {
            Assert.True(transport.Deliver(datagram));
        }

        var buffer = new byte[1536];
        foreach (var datagram in sent)
        {
            var length = transport.Receive(buffer, TimeSpan.Zero);
            Assert.Equal(datagram, buffer[..length]);
        }

        Assert.Equal(-1, transport.Receive(buffer, TimeSpan.Zero));
    }

    [Fact]
    public void Deliver_OversizedFullOrDisposed_IsDropped()
    {
        var transport = new QueuedDatagramTransport((DatagramSender)(_ => { }), maxDatagramSize: 100, capacity: 2);

        Assert.False(transport.Deliver(new byte[101]));
        Assert.True(transport.Deliver(new byte[100]));
        Assert.True(transport.Deliver(new byte[1]));
        Assert.False(transport.Deliver(new byte[1]));
        transport.Dispose();
        Assert.False(transport.Deliver(new byte[1]));
    }

    [Fact]
    public void Send_SpanSender_GetsTheBytesWithoutACopyAndMemorySenderGetsACopy()
    {
        byte[]? viaSpan = null;
        ReadOnlyMemory<byte> viaMemory = default;
        using var span = new QueuedDatagramTransport((DatagramSender)(d => viaSpan = d.ToArray()));
        using var memory = new QueuedDatagramTransport(d => viaMemory = d);
        var datagram = new byte[] { 22, 254, 253 };

        span.Send(datagram);
        memory.Send(datagram);
        datagram[0] = 0;

        Assert.Equal(new byte[] { 22, 254, 253 }, viaSpan);
        Assert.Equal(new byte[] { 22, 254, 253 }, viaMemory.ToArray());
    }
}
