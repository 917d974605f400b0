namespace Messenger.Plugins.FileTransfer;

/// <summary>A small extension → media type table for offers no preview generator recognised.</summary>
internal static class MediaTypes
{
    public const string Default = "application/octet-stream";

    private static readonly Dictionary<string, string> ByExtension = new(StringComparer.OrdinalIgnoreCase)
    {
        [".txt"] = "text/plain", [".pdf"] = "application/pdf", [".zip"] = "application/zip",
        [".jpg"] = "image/jpeg", [".jpeg"] = "image/jpeg", [".png"] = "image/png", [".gif"] = "image/gif",
        [".webp"] = "image/webp", [".mp4"] = "video/mp4", [".webm"] = "video/webm", [".mp3"] = "audio/mpeg",
        [".json"] = "application/json", [".html"] = "text/html",
    };

    public static string FromName(string name) =>
        ByExtension.TryGetValue(Path.GetExtension(name), out var type) ? type : Default;
}
