using System.CommandLine;
using Demos.Maas.Cli;

var root = new RootCommand("maas: serve, inspect and call Models-as-a-Service endpoints.");
root.Subcommands.Add(DemoCommand.Create());
root.Subcommands.Add(ServeCommand.Create());
root.Subcommands.Add(InfoCommand.Create());
root.Subcommands.Add(CallCommand.Create());
root.Subcommands.Add(HealthCommand.Create());
root.Subcommands.Add(BenchCommand.Create());
root.Subcommands.Add(MpiWorkerCommand.Create());
root.Subcommands.Add(KeyCommand.Create());
root.Subcommands.Add(CertCommand.Create());
root.Subcommands.Add(RefCommand.Create());
root.Subcommands.Add(RegistryCommand.Create());
root.Subcommands.Add(SlurmCommand.Create());
var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    return CommandLineErrors.Report(parse);
}

return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
