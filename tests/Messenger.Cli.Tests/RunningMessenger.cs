using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace Messenger.Cli.Tests;

/// <summary>
/// A <c>messenger</c> process kept running: stdin written line by line, stdout read as lines (JSON events with
/// <c>--json</c>), stderr kept for failure messages. Every wait is bounded; disposal kills what is still running.
/// </summary>
internal sealed class RunningMessenger : IAsyncDisposable
{
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly Task _reading;
    private readonly Task _readingErrors;

    private RunningMessenger(string name, Process process)
    {
        Name = name;
        _process = process;
        _reading = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                lock (_stdout)
                {
                    _stdout.AppendLine(line);
                }

                _lines.Writer.TryWrite(line);
            }

            _lines.Writer.TryComplete();
        });
        _readingErrors = Task.Run(async () =>
        {
            while (await process.StandardError.ReadLineAsync() is { } line)
            {
                lock (_stderr)
                {
                    _stderr.AppendLine(line);
                }
            }
        });
    }

    public string Name { get; }

    public int Id => _process.Id;

    public string Stdout
    {
        get
        {
            lock (_stdout)
            {
                return _stdout.ToString();
            }
        }
    }

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public string Output
    {
        get
        {
            lock (_stdout)
            {
                lock (_stderr)
                {
                    return $"--- {Name} stdout:\n{_stdout}--- {Name} stderr:\n{_stderr}";
                }
            }
        }
    }

    public static RunningMessenger Start(string name, IReadOnlyDictionary<string, string?>? environment, params string[] args)
    {
        // Through `env --default-signal=INT`: a test run started in the background by a non-interactive shell
        // inherits SIGINT ignored (POSIX), the runtime then leaves it ignored, and Ctrl-C (InterruptAsync) would
        // do nothing. A person's terminal never starts messenger that way.
        var start = new ProcessStartInfo("env")
        {
            WorkingDirectory = Messenger.TestSupport.RepoPaths.RepoRoot,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
        };
        start.ArgumentList.Add("--default-signal=INT");
        start.ArgumentList.Add("dotnet");
        start.ArgumentList.Add(MessengerProcess.Dll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["NO_COLOR"] = "1";
        start.Environment["COLUMNS"] = "200";
        start.Environment.Remove("MESSENGER_STORE_PASSPHRASE");
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            start.Environment[key] = value;
        }

        return new RunningMessenger(name, Process.Start(start)!);
    }

    public async Task SendAsync(string line)
    {
        await _process.StandardInput.WriteLineAsync(line);
        await _process.StandardInput.FlushAsync();
    }

    public void CloseInput() => _process.StandardInput.Close();

    /// <summary>The next stdout line that satisfies the predicate; earlier lines are skipped.</summary>
    public async Task<string> NextLineAsync(Func<string, bool> predicate, TimeSpan? timeout = null)
    {
        using var limit = new CancellationTokenSource(timeout ?? Wait);
        try
        {
            while (await _lines.Reader.WaitToReadAsync(limit.Token))
            {
                while (_lines.Reader.TryRead(out var line))
                {
                    if (predicate(line))
                    {
                        return line;
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{Name}: no matching line within {(timeout ?? Wait).TotalSeconds} s.\n{Output}");
        }

        throw new InvalidOperationException($"{Name} ended its output without a matching line.\n{Output}");
    }

    /// <summary>The next JSON event named <paramref name="name"/> that satisfies the predicate.</summary>
    public async Task<JsonObject> NextEventAsync(string name, Func<JsonObject, bool>? predicate = null, TimeSpan? timeout = null)
    {
        JsonObject? found = null;
        await NextLineAsync(
            line =>
            {
                if (!line.StartsWith('{'))
                {
                    return false;
                }

                JsonObject e;
                try
                {
                    e = JsonNode.Parse(line)!.AsObject();
                }
                catch (JsonException)
                {
                    return false;
                }

                if ((string?)e["event"] == name && (predicate is null || predicate(e)))
                {
                    found = e;
                    return true;
                }

                return false;
            },
            timeout);
        return found!;
    }

    public async Task<int> WaitForExitAsync(TimeSpan? timeout = null)
    {
        try
        {
            await _process.WaitForExitAsync().WaitAsync(timeout ?? Wait);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{Name} did not exit within {(timeout ?? Wait).TotalSeconds} s.\n{Output}");
        }

        await Task.WhenAll(_reading, _readingErrors).WaitAsync(Wait);
        return _process.ExitCode;
    }

    /// <summary>Sends SIGINT, as Ctrl-C in a terminal does.</summary>
    public async Task InterruptAsync()
    {
        using var kill = Process.Start("kill", ["-INT", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        await kill.WaitForExitAsync().WaitAsync(Wait);
    }

    /// <summary>SIGKILL: the process dies at once, says nothing to its peer (a crash, a pulled plug).</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync().WaitAsync(Wait);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(Wait);
        }

        _process.Dispose();
    }
}
