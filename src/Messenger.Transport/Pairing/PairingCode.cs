using System.Globalization;
using System.Security.Cryptography;

namespace Messenger.Transport.Pairing;

/// <summary>
/// A short one-time pairing code such as <c>7-kettle-orbit</c>: a nameplate number (1-999, public: it may name the
/// relay room both peers meet in) and two words from a list of 256 (16 bits the relay never sees). Both peers type
/// the same code; <see cref="PairingHandshake"/> uses all of it as the password of a J-PAKE exchange that also covers
/// both DTLS fingerprints, so a guess costs the attacker one live attempt and a relay that swaps fingerprints fails.
/// </summary>
public sealed class PairingCode : IEquatable<PairingCode>
{
    private static readonly string[] Words =
    [
        "acid", "acorn", "actor", "adult", "agent", "alarm", "album", "alley", "amber", "angle", "ankle", "apple",
        "april", "apron", "arena", "armor", "arrow", "atlas", "attic", "audio", "aunt", "autumn", "avocado", "axis",
        "bacon", "badge", "bagel", "baker", "balloon", "bamboo", "banjo", "barn", "basil", "basket", "beach", "beard",
        "beaver", "berry", "bicycle", "bison", "blanket", "blossom", "boat", "bonus", "book", "bottle", "bowl",
        "brain", "branch", "bread", "brick", "bridge", "broom", "bucket", "budget", "bunny", "butter", "button",
        "cabin", "cactus", "camel", "camera", "candle", "canoe", "canyon", "carbon", "carpet", "carrot", "castle",
        "cedar", "cello", "chair", "chalk", "cheese", "cherry", "chess", "chimney", "cider", "cinema", "circle",
        "citrus", "clock", "cloud", "clover", "coach", "cobalt", "cocoa", "coffee", "comet", "copper", "coral",
        "cotton", "cousin", "coyote", "crayon", "cricket", "crystal", "cupboard", "curtain", "cycle", "daisy", "dance",
        "delta", "denim", "desert", "diamond", "dinner", "dolphin", "donkey", "dragon", "drawer", "dream", "drum",
        "eagle", "easel", "echo", "elbow", "ember", "engine", "falcon", "feather", "fence", "ferry", "fiddle", "flame",
        "flute", "forest", "fossil", "fountain", "fox", "garden", "garlic", "gecko", "ginger", "giraffe", "glacier",
        "globe", "glove", "goat", "golf", "grape", "gravel", "guitar", "hammer", "harbor", "harp", "hazel", "helmet",
        "hero", "honey", "horizon", "iceberg", "igloo", "island", "ivory", "jacket", "jaguar", "jelly", "jigsaw",
        "jungle", "kayak", "kettle", "kitten", "koala", "ladder", "lagoon", "lamp", "lantern", "lemon", "lentil",
        "library", "lily", "lion", "lizard", "lobster", "locket", "lotus", "magnet", "mango", "maple", "marble",
        "meadow", "melon", "mirror", "mitten", "monkey", "moon", "mosaic", "muffin", "mural", "napkin", "nectar",
        "needle", "noodle", "oasis", "ocean", "olive", "onion", "opera", "orbit", "orchid", "otter", "owl", "paddle",
        "panda", "paper", "parrot", "pasta", "peach", "peanut", "pebble", "pelican", "pencil", "pepper", "piano",
        "pickle", "pillow", "pilot", "planet", "plum", "pocket", "pony", "potato", "puzzle", "quartz", "quilt",
        "rabbit", "radio", "rainbow", "raven", "ribbon", "river", "robin", "rocket", "saddle", "salmon", "sandal",
        "satin", "scarf", "shadow", "shell", "silver", "sketch", "sofa", "spider", "spoon", "squid", "statue", "sugar",
        "summit", "sunset", "swan", "table", "tiger", "tomato", "tulip",
    ];

    private static readonly Dictionary<string, int> WordIndex = Words.Select((w, i) => (w, i)).ToDictionary(p => p.w, p => p.i, StringComparer.Ordinal);

    private PairingCode(int nameplate, string first, string second)
    {
        Nameplate = nameplate;
        Text = string.Create(CultureInfo.InvariantCulture, $"{nameplate}-{first}-{second}");
    }

    /// <summary>The public number: peers meeting through a relay use it to find each other.</summary>
    public int Nameplate { get; }

    /// <summary>The code as people type it: <c>7-kettle-orbit</c>.</summary>
    public string Text { get; }

    /// <summary>A new random code.</summary>
    public static PairingCode Generate() =>
        new(RandomNumberGenerator.GetInt32(1, 1000), Words[RandomNumberGenerator.GetInt32(Words.Length)], Words[RandomNumberGenerator.GetInt32(Words.Length)]);

    /// <summary>Reads a code: a number and two list words, separated by hyphens or spaces, any case.</summary>
    /// <exception cref="FormatException">It is not a pairing code.</exception>
    public static PairingCode Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Trim().ToLowerInvariant().Split(['-', ' '], StringSplitOptions.RemoveEmptyEntries);
        if (text.Length > 64 || parts.Length != 3
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var nameplate) || nameplate is < 1 or > 999)
        {
            throw new FormatException("A pairing code is a number and two words, such as 7-kettle-orbit.");
        }

        foreach (var word in parts.AsSpan(1))
        {
            if (!WordIndex.ContainsKey(word))
            {
                throw new FormatException($"'{word}' is not a word of pairing codes: check the spelling (a code looks like 7-kettle-orbit).");
            }
        }

        return new PairingCode(nameplate, parts[1], parts[2]);
    }

    /// <summary>How many different codes there are (a guess succeeds with one chance in this).</summary>
    public static int Count => 999 * Words.Length * Words.Length;

    public override string ToString() => Text;

    public bool Equals(PairingCode? other) => other is not null && other.Text == Text;

    public override bool Equals(object? obj) => Equals(obj as PairingCode);

    public override int GetHashCode() => Text.GetHashCode(StringComparison.Ordinal);
}
