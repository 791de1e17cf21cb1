using Demos.Maas.Client;
using Demos.Maas.Transport;

namespace Demos.Maas.Cli;

/// <summary>The transports the tool speaks: the one registration it shares with the native library.</summary>
internal static class Transports
{
    public static IMaasTransport[] All() => StandardTransports.Create();

    public static MaasClientOptions ClientOptions()
    {
        var options = new MaasClientOptions();
        foreach (var t in All())
        {
            options.Transports.Add(t);
        }

        return options;
    }
}
