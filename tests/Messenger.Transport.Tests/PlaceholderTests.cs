namespace Messenger.Transport.Tests;

public class TransportAssemblyTests
{
    [Fact]
    public void TransportAssembly_References_Contracts()
    {
        var referenced = typeof(Messenger.Transport.TransportAssembly).Assembly.GetReferencedAssemblies();
        Assert.Contains(referenced, a => a.Name == "Messenger.Contracts");
    }
}
