using System.Threading.Channels;

namespace Messenger.Cli.Chat;

/// <summary>
/// Standard input, line by line, read on a thread of its own. Console.In reads block the calling thread, and its
/// ReadLineAsync is synchronous: awaited on the thread pool it holds a pool thread for as long as the user is silent,
/// and on a 2-core machine (two pool threads to begin with) that left the connection's events, the chat frames and
/// every other continuation one thread to share, and waiting up to half a second each time the pool had to grow.
/// Started at the first read; from then on nothing else may read the console.
/// </summary>
internal sealed class ConsoleLines : TextReader
{
    private static readonly Lazy<ConsoleLines> Shared = new(() => new ConsoleLines(Console.In));
    private readonly Channel<string?> _lines = Channel.CreateBounded<string?>(new BoundedChannelOptions(64) { SingleReader = false, SingleWriter = true });
    private readonly TextReader _source;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _held = new();
    private int _started;
    private bool _ended;

    private ConsoleLines(TextReader source) => _source = source;

    /// <summary>The process's standard input.</summary>
    public static ConsoleLines Instance => Shared.Value;

    public override string? ReadLine() => ReadLineAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult();

    public override Task<string?> ReadLineAsync() => ReadLineAsync(CancellationToken.None).AsTask();

    /// <summary>The next line, or null once input has ended (and every later call).</summary>
    public override async ValueTask<string?> ReadLineAsync(CancellationToken cancellationToken)
    {
        Start();
        if (_held.TryDequeue(out var held))
        {
            return held;
        }

        if (_ended)
        {
            return null;
        }

        var line = await _lines.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        _ended |= line is null;
        return line;
    }

    /// <summary>
    /// Watches the input while something else is awaited (the peer to turn up): completes when the user types
    /// <c>/quit</c> or the input ends; every other line is kept, in order, for the next <see cref="ReadLineAsync(CancellationToken)"/>.
    /// Cancel it when the wait is over: no line is lost.
    /// </summary>
    public async Task WaitForQuitAsync(CancellationToken cancellationToken)
    {
        Start();
        while (!_ended)
        {
            var line = await _lines.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (line is null)
            {
                _ended = true;
                return;
            }

            if (line.Trim() == "/quit")
            {
                return;
            }

            _held.Enqueue(line);
        }
    }

    private void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) == 0)
        {
            new Thread(Pump) { IsBackground = true, Name = "console input" }.Start();
        }
    }

    private void Pump()
    {
        string? line;
        do
        {
            try
            {
                line = _source.ReadLine();
            }
            catch (IOException)
            {
                line = null; // the terminal went away: as the end of input
            }

            // Bounded: a pasted flood waits here (this thread blocks, the rest stays in the pipe), not in memory.
            _lines.Writer.WriteAsync(line).AsTask().GetAwaiter().GetResult();
        }
        while (line is not null);
    }
}
