using System.CommandLine;
using System.Net;
using System.Net.Sockets;
using Messenger.Transport.Signaling;

namespace Messenger.Cli.Commands;

/// <summary><c>messenger signal</c>: runs the signaling relay two peers use to exchange their offer and answer.</summary>
internal static class SignalCommand
{
    public static Command Create()
    {
        var bindOption = new Option<string>("--bind")
        {
            Description = "The address to listen on (127.0.0.1 keeps it on this machine; 0.0.0.0 for a LAN).",
            DefaultValueFactory = _ => "127.0.0.1",
        };
        var portOption = new Option<int>("--port")
        {
            Description = "The TCP port (0 picks a free one).",
            DefaultValueFactory = _ => 7000,
        };
        var command = new Command("signal", "Run the signaling relay: peers join a room with one JSON line, then each line goes to the other peer.")
        {
            bindOption,
            portOption,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (!IPAddress.TryParse(parse.GetValue(bindOption), out var address))
            {
                throw new CliException($"--bind: '{parse.GetValue(bindOption)}' is not an IP address.");
            }

            var port = parse.GetValue(portOption);
            if (port is < 0 or > 65535)
            {
                throw new CliException("--port must be between 0 and 65535.");
            }

            await using var relay = new SignalingRelay(new IPEndPoint(address, port));
            try
            {
                relay.Start();
            }
            catch (SocketException ex)
            {
                throw new CliException($"cannot listen on {address}:{port}: {ex.Message}");
            }

            Console.WriteLine($"messenger signal: listening on {relay.EndPoint} (Ctrl-C stops)");
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                Console.WriteLine("messenger signal: stopped");
            }

            return ExitCodes.Ok;
        });
        return command;
    }
}
