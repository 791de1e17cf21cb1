using Demos.Maas.Client;
using Demos.Maas.Transport;

namespace Demos.Maas.Cli;

/// <summary>The transports the tool speaks: the one registration it shares with the native library.</summary>
internal static class Transports
{
    public static IMaasTransport[] All() => StandardTransports.Create();

    public static MaasClientOptions ClientOptions()
    {
        // The API key of a server that authenticates its callers (docs/security.md); never a command-line argument, which other users can read.
        var options = new MaasClientOptions { Credentials = Environment.GetEnvironmentVariable("MAAS_KEY") is { Length: > 0 } key ? key : null };
        foreach (var t in All())
        {
            options.Transports.Add(t);
        }

        return options;
    }
}
