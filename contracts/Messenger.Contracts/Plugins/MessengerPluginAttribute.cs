namespace Messenger.Contracts.Plugins;

/// <summary>
/// Names a plugin assembly's entry type. Place once per plugin assembly:
/// <c>[assembly: MessengerPlugin(typeof(MyPlugin))]</c>.
/// </summary>
/// <remarks>
/// The <paramref name="contractsMajor"/> default is compiled into the plugin, so the attribute records the
/// contracts major version the plugin was built against; the host refuses a newer one.
/// </remarks>
/// <param name="entryType">A public class implementing <see cref="IMessengerPlugin"/>.</param>
/// <param name="contractsMajor">The contracts major the plugin was built against; leave the default.</param>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = false)]
public sealed class MessengerPluginAttribute(Type entryType, int contractsMajor = ContractsVersion.Major) : Attribute
{
    /// <summary>The plugin's entry type.</summary>
    public Type EntryType { get; } = entryType;

    /// <summary>The contracts major version the plugin was compiled against.</summary>
    public int ContractsMajor { get; } = contractsMajor;
}
