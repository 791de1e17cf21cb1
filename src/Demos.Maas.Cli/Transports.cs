using Demos.Maas.Client;
using Demos.Maas.Transport;
using Demos.Maas.Transports.Http;
using Demos.Maas.Transports.Pipe;
using Demos.Maas.Transports.Tcp;

namespace Demos.Maas.Cli;

/// <summary>The transports the tool speaks.</summary>
internal static class Transports
{
    public static IMaasTransport[] All() => [new InProcessTransport(), new PipeTransport(), new TcpTransport(), new HttpTransport()];

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
