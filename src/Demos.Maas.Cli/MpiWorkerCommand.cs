using System.CommandLine;
using Demos.Maas.Models;
using Demos.Maas.Server;
using Demos.Maas.Transports.Mpi;
using Microsoft.Extensions.Logging;

namespace Demos.Maas.Cli;

/// <summary>
/// <c>maas mpi-worker</c>: a worker rank of an MPMD job
/// (<c>mpirun -n 1 CLIENT : -n K maas mpi-worker --model NAME</c>). Hosts the models like
/// <c>maas serve</c> does and serves rank 0 until it disconnects.
/// </summary>
internal static class MpiWorkerCommand
{
    public static Command Create()
    {
        var model = new Option<string[]>("--model", "-m") { Description = $"Built-in model to host (repeatable; default: all of {string.Join(", ", ExampleModels.Names)})" };
        var config = new Option<string?>("--config", "-c") { Description = "JSON configuration file (models, limits, cache, batching; listen URIs are ignored)" };
        var command = new Command("mpi-worker", "Serve models to rank 0 of an MPI job (run under mpirun).") { model, config };
        command.SetAction((result, ct) => Failures.RunAsync(async () =>
        {
            var configuration = ServeConfiguration.Load(result.GetValue(config));
            using var loggerFactory = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning));
            var server = new MaasServer(configuration.Server, Transports.All(), loggerFactory);
            var names = configuration.Models.Concat(result.GetValue(model) ?? []).ToList();
            foreach (var name in names.Count > 0 ? names : [.. ExampleModels.Names])
            {
                server.AddModel(ExampleModels.Create(name));
            }

            await MpiWorker.ServeAsync(server, ct).ConfigureAwait(false);
            return 0;
        }));
        return command;
    }
}
