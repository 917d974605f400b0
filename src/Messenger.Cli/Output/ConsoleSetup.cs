using System.Globalization;
using Spectre.Console;

namespace Messenger.Cli.Output;

/// <summary>Plain text when output goes to a file or pipe, or NO_COLOR is set; COLUMNS sets the width when given.</summary>
internal static class ConsoleSetup
{
    public static void Apply()
    {
        var plain = Console.IsOutputRedirected || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR"));
        if (plain)
        {
            AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings
            {
                Ansi = AnsiSupport.No,
                ColorSystem = ColorSystemSupport.NoColors,
                Interactive = InteractionSupport.No,
            });
        }

        if (int.TryParse(Environment.GetEnvironmentVariable("COLUMNS"), NumberStyles.None, CultureInfo.InvariantCulture, out var columns) && columns is >= 40 and <= 1000)
        {
            AnsiConsole.Profile.Width = columns;
        }
    }
}
