using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Xunit.Abstractions;

namespace Messenger.Interop.Tests;

/// <summary>
/// A peer in a child process: signaling as one JSON object per line on its stdin and stdout; anything it writes to
/// stderr (or non-JSON on stdout) goes to the test output, so a failing run shows the peer's own story.
/// </summary>
public sealed class ProcessRemotePeer : IRemotePeer
{
    private readonly Process _process;
    private readonly ITestOutputHelper _output;
    private readonly Channel<JsonObject> _messages = Channel.CreateUnbounded<JsonObject>();
    private readonly TaskCompletionSource _stdoutDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _writeGate = new(1, 1);

    private ProcessRemotePeer(string name, ProcessStartInfo start, ITestOutputHelper output)
    {
        Name = name;
        _output = output;
        start.RedirectStandardInput = true;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        _process = new Process { StartInfo = start, EnableRaisingEvents = true };
        _process.OutputDataReceived += (_, e) => OnStdout(e.Data);
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                Log($"[{Name} stderr] {e.Data}");
            }
        };
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Name { get; }

    /// <summary>Starts <paramref name="fileName"/> with <paramref name="arguments"/>.</summary>
    public static ProcessRemotePeer Start(string name, string fileName, IEnumerable<string> arguments, ITestOutputHelper output, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(fileName) { WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return new ProcessRemotePeer(name, start, output);
    }

    public async Task SendAsync(JsonObject message, CancellationToken cancellationToken)
    {
        var line = message.ToJsonString();
        await _writeGate.WaitAsync(cancellationToken);
        try
        {
            await _process.StandardInput.WriteLineAsync(line.AsMemory(), cancellationToken);
            await _process.StandardInput.FlushAsync(cancellationToken);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    public async IAsyncEnumerable<JsonObject> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var message in _messages.Reader.ReadAllAsync(cancellationToken))
        {
            yield return message;
        }
    }

    public async Task<int> WaitForExitAsync(CancellationToken cancellationToken)
    {
        await _process.WaitForExitAsync(cancellationToken);
        await _stdoutDone.Task.WaitAsync(cancellationToken);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        catch (InvalidOperationException)
        {
            // It was never started or already reaped.
        }

        _process.Dispose();
        _writeGate.Dispose();
    }

    private void OnStdout(string? line)
    {
        if (line is null)
        {
            _messages.Writer.TryComplete();
            _stdoutDone.TrySetResult();
            return;
        }

        JsonObject? message = null;
        try
        {
            message = JsonNode.Parse(line) as JsonObject;
        }
        catch (JsonException)
        {
        }

        if (message is null)
        {
            Log($"[{Name} stdout] {line}");
            return;
        }

        if ((string?)message["type"] == "log")
        {
            Log($"[{Name}] {(string?)message["message"]}");
            return;
        }

        _messages.Writer.TryWrite(message);
    }

    private void Log(string line)
    {
        try
        {
            _output.WriteLine(line);
        }
        catch (InvalidOperationException)
        {
            // The test already finished; xunit refuses late output.
        }
    }
}
