using System.CommandLine;
using Demos.Maas.Client;

namespace Demos.Maas.Cli;

/// <summary><c>maas info URI [MODEL]</c>: what a server hosts.</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var uri = new Argument<string>("uri") { Description = "Server URI" };
        var model = new Argument<string?>("model") { Description = "Model name or uuid (default: all)", Arity = ArgumentArity.ZeroOrOne };
        var json = new Option<bool>("--json") { Description = "Print the metadata as JSON" };
        var command = new Command("info", "List a server's models and their metadata.") { uri, model, json };
        command.SetAction((result, ct) => Failures.RunAsync(async () =>
        {
            await using var client = await MaasClient.ConnectAsync(result.GetValue(uri)!, Transports.ClientOptions(), ct).ConfigureAwait(false);
            IReadOnlyList<ModelInfo> infos = result.GetValue(model) is { } name
                ? [(await client.GetModelAsync(name, ct).ConfigureAwait(false)).Info]
                : await client.ListModelsAsync(ct).ConfigureAwait(false);
            if (result.GetValue(json))
            {
                PrintJson(infos);
                return 0;
            }

            Console.WriteLine($"server  {client.Server.Agent}, protocol {client.Server.Version}, max frame {client.Server.MaxFrameBytes} B, max in flight {client.Server.MaxInFlight}");
            foreach (var info in infos)
            {
                Print(info);
            }

            return 0;
        }));
        return command;
    }

    /// <summary>The models' info as a JSON array, in the form of the HTTP routes (docs/http.md).</summary>
    public static void PrintJson(IReadOnlyList<ModelInfo> infos) => CallCommand.PrintJson(w =>
    {
        w.WriteStartArray();
        foreach (var info in infos)
        {
            Demos.Maas.Protocol.MaasJson.WriteInfo(w, info);
        }

        w.WriteEndArray();
    });

    public static void Print(ModelInfo info)
    {
        Console.WriteLine($"model   {info.Name} {info.Version}  uuid {info.Uuid}");
        if (info.Description is not null)
        {
            Console.WriteLine($"        {info.Description}");
        }

        Console.WriteLine($"        x: {info.InputDimension} values; Evaluate output: {info.OutputDimension}; capabilities: {info.Capabilities}");
        foreach (var p in info.Parameters)
        {
            string bounds = p.Lower is null && p.Upper is null ? "" : $" bounds lower [{(p.Lower is null ? "-inf" : string.Join(", ", p.Lower))}] upper [{(p.Upper is null ? "inf" : string.Join(", ", p.Upper))}]";
            Console.WriteLine($"        param {p.Name} shape [{string.Join(",", p.Shape)}] default [{string.Join(", ", p.Default)}]{bounds}");
        }
    }
}
