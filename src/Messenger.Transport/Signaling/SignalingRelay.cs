using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Messenger.Transport.Signaling;

/// <summary>
/// A tiny signaling relay (<c>messenger signal</c>): peers connect over TCP, send one JSON line
/// <c>{"type":"join","room":"R"}</c>, and every later line is forwarded to the other peer of the room. Two peers per
/// room; the relay tells a peer when the other joins (<c>peer-joined</c>) or leaves (<c>peer-left</c>).
/// </summary>
public sealed class SignalingRelay : IAsyncDisposable
{
    /// <summary>The longest line the relay accepts; an SDP with candidates fits many times over.</summary>
    public const int MaxLineBytes = 64 * 1024;

    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, Room> _rooms = new(StringComparer.Ordinal);
    private Task _accepting = Task.CompletedTask;

    /// <summary>Creates a relay; call <see cref="Start"/> to listen.</summary>
    /// <param name="endPoint">Where to listen, e.g. 127.0.0.1:7000 (port 0 picks a free one).</param>
    public SignalingRelay(IPEndPoint endPoint) => _listener = new TcpListener(endPoint);

    /// <summary>Where the relay listens, once started.</summary>
    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>Starts listening and accepting peers.</summary>
    public void Start()
    {
        _listener.Start();
        _accepting = AcceptAsync(_stop.Token);
    }

    /// <summary>Stops listening and disconnects every peer.</summary>
    /// <returns>A task that completes when the relay has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        await _accepting.ConfigureAwait(false);
        foreach (var room in _rooms.Values)
        {
            room.CloseAll();
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync(CancellationToken cancellationToken)
    {
        var peers = new List<Task>();
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var client = await _listener.AcceptTcpClientAsync(cancellationToken).ConfigureAwait(false);
                peers.Add(ServeAsync(client, cancellationToken));
                peers.RemoveAll(t => t.IsCompleted);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopped.
        }

        await Task.WhenAll(peers).ConfigureAwait(false);
    }

    private async Task ServeAsync(TcpClient client, CancellationToken cancellationToken)
    {
        using (client)
        {
            using var peer = new Peer(client.GetStream());
            Room? room = null;
            try
            {
                await foreach (var line in SignalingLines.ReadAsync(peer.Stream, cancellationToken).ConfigureAwait(false))
                {
                    if (room is null)
                    {
                        room = await JoinAsync(peer, line).ConfigureAwait(false);
                        if (room is null)
                        {
                            return;
                        }

                        continue;
                    }

                    if (room.Other(peer) is { } other)
                    {
                        await other.TrySendAsync(line).ConfigureAwait(false);
                    }
                    else
                    {
                        await peer.SendAsync(SignalingLines.Error("no peer in the room yet")).ConfigureAwait(false);
                    }
                }
            }
            catch (SignalingProtocolException ex)
            {
                await peer.TrySendAsync(SignalingLines.Error(ex.Message)).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException)
            {
                // The peer went away or the relay stopped.
            }
            finally
            {
                if (room is not null && room.Leave(peer) is { } remaining)
                {
                    await remaining.TrySendAsync("""{"type":"peer-left"}""").ConfigureAwait(false);
                    _rooms.TryRemove(new KeyValuePair<string, Room>(room.Name, room));
                }
                else if (room is not null)
                {
                    _rooms.TryRemove(new KeyValuePair<string, Room>(room.Name, room));
                }
            }
        }
    }

    private async Task<Room?> JoinAsync(Peer peer, string line)
    {
        var name = SignalingLines.ParseJoin(line);
        var room = _rooms.GetOrAdd(name, n => new Room(n));
        var other = room.TryJoin(peer);
        if (other is null && !room.Contains(peer))
        {
            await peer.SendAsync(SignalingLines.Error($"room '{name}' already has two peers")).ConfigureAwait(false);
            return null;
        }

        await peer.SendAsync($$"""{"type":"joined","room":{{JsonSerializer.Serialize(name)}},"peers":{{(other is null ? 1 : 2)}}}""").ConfigureAwait(false);
        if (other is not null)
        {
            await other.TrySendAsync("""{"type":"peer-joined"}""").ConfigureAwait(false);
        }

        return room;
    }

    /// <summary>A connected peer; writes are serialised so forwarded lines never interleave.</summary>
    private sealed class Peer(NetworkStream stream) : IDisposable
    {
        private readonly SemaphoreSlim _writing = new(1, 1);

        public NetworkStream Stream { get; } = stream;

        public async Task SendAsync(string line)
        {
            var bytes = Encoding.UTF8.GetBytes(line + "\n");
            await _writing.WaitAsync().ConfigureAwait(false);
            try
            {
                await Stream.WriteAsync(bytes).ConfigureAwait(false);
            }
            finally
            {
                _writing.Release();
            }
        }

        public async Task TrySendAsync(string line)
        {
            try
            {
                await SendAsync(line).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException)
            {
                // Best effort: the peer may already be gone.
            }
        }

        public void Close() => Stream.Dispose();

        public void Dispose()
        {
            Stream.Dispose();
            _writing.Dispose();
        }
    }

    /// <summary>Up to two peers that talk to each other.</summary>
    private sealed class Room(string name)
    {
        private readonly Lock _gate = new();
        private Peer? _first;
        private Peer? _second;

        public string Name { get; } = name;

        /// <summary>Adds the peer; returns the peer already there, or null when it is alone or the room is full.</summary>
        public Peer? TryJoin(Peer peer)
        {
            lock (_gate)
            {
                if (_first is null)
                {
                    _first = peer;
                    return _second;
                }

                if (_second is null)
                {
                    _second = peer;
                    return _first;
                }

                return null;
            }
        }

        public bool Contains(Peer peer)
        {
            lock (_gate)
            {
                return ReferenceEquals(_first, peer) || ReferenceEquals(_second, peer);
            }
        }

        public Peer? Other(Peer peer)
        {
            lock (_gate)
            {
                return ReferenceEquals(_first, peer) ? _second : ReferenceEquals(_second, peer) ? _first : null;
            }
        }

        /// <summary>Removes the peer; returns the one left behind, or null when the room is now empty.</summary>
        public Peer? Leave(Peer peer)
        {
            lock (_gate)
            {
                if (ReferenceEquals(_first, peer))
                {
                    _first = null;
                }
                else if (ReferenceEquals(_second, peer))
                {
                    _second = null;
                }

                return _first ?? _second;
            }
        }

        public void CloseAll()
        {
            lock (_gate)
            {
                _first?.Close();
                _second?.Close();
            }
        }
    }
}
