namespace Messenger.Plugins.FileTransfer.Tests;

public sealed class OfferedFileNameTests
{
    [Theory]
    [InlineData("report.pdf", "report.pdf")]
    [InlineData("../../etc/passwd", "passwd")]
    [InlineData("..\\..\\Windows\\System32\\evil.dll", "evil.dll")]
    [InlineData("/etc/shadow", "shadow")]
    [InlineData("C:\\Users\\x\\a.txt", "a.txt")]
    [InlineData("C:a.txt", "Ca.txt")]
    [InlineData("..", "file")]
    [InlineData("", "file")]
    [InlineData("   ", "file")]
    [InlineData(".bashrc", "bashrc")]
    [InlineData("CON", "_CON")]
    [InlineData("nul.txt", "_nul.txt")]
    [InlineData("com1.tar.gz", "_com1.tar.gz")]
    [InlineData("LPT9", "_LPT9")]
    [InlineData("console.txt", "console.txt")]
    [InlineData("a\u0000b\u001fc\u007f.txt", "abc.txt")]
    [InlineData("line\nbreak.txt", "linebreak.txt")]
    [InlineData("gpj.\u202Eexe", "gpj.exe")]
    [InlineData("what?<>|*\".txt", "what.txt")]
    [InlineData("trailing. . .", "trailing")]
    public void Sanitise_HostileName_SafeSingleSegment(string raw, string expected)
    {
        Assert.Equal(expected, OfferedFileName.Sanitise(raw));
    }

    [Fact]
    public void Sanitise_OverLongName_CutToLimitKeepingExtension()
    {
        var name = OfferedFileName.Sanitise(new string('a', 1000) + ".jpeg");

        Assert.Equal(OfferedFileName.MaxBytes, System.Text.Encoding.UTF8.GetByteCount(name));
        Assert.EndsWith("aaa.jpeg", name, StringComparison.Ordinal);
    }

    [Fact]
    public void Sanitise_OverLongMultiByteName_NeverSplitsACharacter()
    {
        var name = OfferedFileName.Sanitise(string.Concat(Enumerable.Repeat("😀", 300)) + ".png");

        Assert.InRange(System.Text.Encoding.UTF8.GetByteCount(name), OfferedFileName.MaxBytes - 4, OfferedFileName.MaxBytes);
        Assert.EndsWith(".png", name, StringComparison.Ordinal);
        Assert.DoesNotContain('\uFFFD', System.Text.Encoding.UTF8.GetString(System.Text.Encoding.UTF8.GetBytes(name)));
    }
}
