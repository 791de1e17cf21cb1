using System.CommandLine;
using Demos.Maas.Client;

namespace Demos.Maas.Cli;

/// <summary>
/// <c>maas health URI</c>: exit 0 when the server is ready (it answers the handshake, is not
/// draining and lists its models — or, without <c>MAAS_KEY</c>, refuses the handshake for want of
/// credentials, which a keyless probe cannot tell apart from ready), 1 otherwise. For container
/// HEALTHCHECK and exec probes.
/// </summary>
internal static class HealthCommand
{
    public static Command Create()
    {
        var uri = new Argument<string>("uri") { Description = "Server URI" };
        var timeout = new Option<double>("--timeout-seconds") { Description = "Give up after this long (default 5)", DefaultValueFactory = _ => 5 };
        var command = new Command("health", "Exit 0 when the server is ready, non-zero otherwise.") { uri, timeout };
        command.SetAction(async (result, ct) =>
        {
            var options = Transports.ClientOptions();
            options.ConnectTimeout = TimeSpan.FromSeconds(result.GetValue(timeout));
            options.DefaultTimeout = options.ConnectTimeout;
            options.Retry = null;
            try
            {
                await using var client = await MaasClient.ConnectAsync(result.GetValue(uri)!, options, ct).ConfigureAwait(false);
                var models = await client.ListModelsAsync(ct).ConfigureAwait(false);
                if (!client.IsConnected)
                {
                    Console.WriteLine("not ready: the server is draining");
                    return 1;
                }

                Console.WriteLine($"ready: {models.Count} models ({client.Server.Agent})");
                return 0;
            }
            catch (MaasException ex) when (ex.Code == MaasErrorCode.Unauthenticated && options.Credentials is null)
            {
                // A probe holds no key: a server that answers the handshake with "credentials required" is up.
                Console.WriteLine("ready: the server answers and requires credentials (set MAAS_KEY to list its models)");
                return 0;
            }
            catch (MaasException ex)
            {
                Console.WriteLine($"not ready: {ex.Code}: {ex.Message}");
                return 1;
            }
        });
        return command;
    }
}
