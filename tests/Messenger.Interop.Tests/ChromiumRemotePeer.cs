using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Messenger.TestSupport;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Messenger.Interop.Tests;

/// <summary>
/// One headless Debian Chromium (/usr/bin/chromium) driven by Playwright, shared by the tests of a class; every
/// test gets its own context and page. Playwright's own browser download is never used.
/// </summary>
public sealed class ChromiumFixture : IAsyncLifetime
{
    public const string ExecutablePath = "/usr/bin/chromium";

    private IPlaywright? _playwright;
    private IBrowser? _browser;

    /// <summary>The running browser.</summary>
    public IBrowser Browser => _browser ?? throw new InvalidOperationException("The browser is not running.");

    /// <summary>Chromium's own version string, for the test output.</summary>
    public string Version => Browser.Version;

    public async Task InitializeAsync()
    {
        if (!File.Exists(ExecutablePath))
        {
            throw new InvalidOperationException($"{ExecutablePath} is missing: `apt-get install chromium` (build.sh installs it).");
        }

        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            ChromiumSandbox = false, // we run as root; Playwright then passes --no-sandbox
            Args =
            [
                "--headless=new",
                "--no-sandbox",
                "--allow-loopback-in-peer-connection",
                "--disable-features=WebRtcHideLocalIpsWithMdns",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        });
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.CloseAsync();
        }

        _playwright?.Dispose();
    }
}

/// <summary>
/// peers/chromium/peer.html in a fresh browser context: the page reports its signaling messages through an exposed
/// function (page → test), and the test calls <c>window.messengerPeer.receive</c> (test → page). The page's last
/// message is <c>{"type":"exit","code":C}</c>, 0 after a clean close; that is <see cref="WaitForExitAsync"/>.
/// </summary>
public sealed class ChromiumRemotePeer : IRemotePeer
{
    private readonly IBrowserContext _context;
    private readonly IPage _page;
    private readonly ITestOutputHelper _output;
    private readonly Channel<JsonObject> _messages = Channel.CreateUnbounded<JsonObject>();
    private readonly TaskCompletionSource<int> _exit = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _sendOrder = new();
    private Task _lastSend = Task.CompletedTask;

    private ChromiumRemotePeer(IBrowserContext context, IPage page, ITestOutputHelper output)
    {
        _context = context;
        _page = page;
        _output = output;
    }

    public string Name => "chromium";

    /// <summary>The page, for inspecting the browser side (e.g. a capture hook) in a test.</summary>
    public IPage Page => _page;

    /// <summary>Opens peers/chromium/peer.html in a new context of <paramref name="browser"/>.</summary>
    public static async Task<ChromiumRemotePeer> StartAsync(IBrowser browser, ITestOutputHelper output)
    {
        var context = await browser.NewContextAsync();
        var page = await context.NewPageAsync();
        var peer = new ChromiumRemotePeer(context, page, output);
        page.Console += (_, message) => peer.Log($"[chromium console.{message.Type}] {message.Text}");
        page.PageError += (_, error) => peer.Log($"[chromium page error] {error}");
        page.Crash += (_, _) => peer.Report("""{"type":"error","message":"the page crashed"}""");
        await page.ExposeFunctionAsync<string>("messengerReport", peer.Report);
        var file = Path.Combine(RepoPaths.RepoRoot, "tests", "Messenger.Interop.Tests", "peers", "chromium", "peer.html");
        await page.GotoAsync(new Uri(file).AbsoluteUri);
        return peer;
    }

    public Task SendAsync(JsonObject message, CancellationToken cancellationToken)
    {
        // The page applies messages in the order its receive() is called: calls go out one after another, in the
        // order SendAsync was called (our candidates can be raised while the answer is still on its way).
        var json = message.ToJsonString();
        Log((string?)message["sdp"] is { } sdp ? $"→ chromium {(string?)message["type"]}:\n{sdp.Trim()}" : $"→ chromium {json}");
        Task send;
        lock (_sendOrder)
        {
            send = EvaluateAfterAsync(_lastSend, json);
            _lastSend = send;
        }

        return send.WaitAsync(cancellationToken);
    }

    public async IAsyncEnumerable<JsonObject> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var message in _messages.Reader.ReadAllAsync(cancellationToken))
        {
            yield return message;
        }
    }

    public Task<int> WaitForExitAsync(CancellationToken cancellationToken) => _exit.Task.WaitAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        _exit.TrySetResult(-1);
        _messages.Writer.TryComplete();
        try
        {
            await _context.CloseAsync();
        }
        catch (PlaywrightException ex)
        {
            Log($"[chromium] closing the context: {ex.Message}");
        }
    }

    private async Task EvaluateAfterAsync(Task previous, string json)
    {
        try
        {
            await previous;
        }
        catch (PlaywrightException)
        {
            // Reported by that call already.
        }

        await _page.EvaluateAsync("json => window.messengerPeer.receive(JSON.parse(json))", json);
    }

    private void Report(string json)
    {
        JsonObject? message = null;
        try
        {
            message = JsonNode.Parse(json) as JsonObject;
        }
        catch (JsonException)
        {
        }

        switch ((string?)message?["type"])
        {
            case null:
                Log($"[chromium] not a message: {json}");
                break;
            case "log":
                Log($"[chromium] {(string?)message["message"]}");
                break;
            case "exit":
                _exit.TrySetResult((int?)message["code"] ?? 1);
                _messages.Writer.TryComplete();
                break;
            default:
                if ((string?)message["type"] is "candidate" or "open" or "closed" or "error")
                {
                    Log($"← chromium {json}");
                }

                _messages.Writer.TryWrite(message);
                break;
        }
    }

    private void Log(string line)
    {
        try
        {
            _output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{DateTime.UtcNow:HH:mm:ss.fff} {line}"));
        }
        catch (InvalidOperationException)
        {
            // The test already finished; xunit refuses late output.
        }
    }
}
