using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Demos.Maas.Models;
using Demos.Maas.Registry;

namespace Demos.Maas.Cli;

/// <summary>
/// <c>maas slurm up|down|status</c>: model servers as a Slurm job array (docs/scale-out.md). Each array
/// task runs <c>maas serve</c> in place of its batch shell, registers its endpoint with the registry on
/// start and deregisters it when it drains; Slurm's SIGTERM (at cancellation, or <c>--signal</c> before
/// the time limit) starts the drain.
/// </summary>
internal static class SlurmCommand
{
    public static Command Create() => new("slurm", "Run model servers as a Slurm job array that registers with a registry.")
    {
        Up(), Down(), Status(),
    };

    private static Command Up()
    {
        var model = new Option<string>("--model", "-m") { Description = $"The model every server hosts ({BenchmarkModels.Choices})", Required = true };
        var servers = new Option<int>("--servers", "-n") { Description = "Number of servers (array tasks), 1 to 10000", Required = true };
        var partition = new Option<string?>("--partition", "-p") { Description = "Slurm partition (default: the cluster's default partition)" };
        var time = new Option<string?>("--time", "-t") { Description = "Time limit of each server (Slurm format: MM, HH:MM:SS, D-HH); the drain starts --signal-seconds before it" };
        var registry = RegistryOptions.Registry();
        var transport = new Option<string>("--transport") { Description = "tcp (a port chosen by each server on --host) or pipe (a Unix socket in --socket-dir, for clients on the same node)", DefaultValueFactory = _ => "tcp" };
        var host = new Option<string>("--host") { Description = "Address each server listens on for tcp (default: the node's short host name, evaluated on the node)", DefaultValueFactory = _ => "$(hostname -s)" };
        var socketDir = new Option<string>("--socket-dir") { Description = "Folder of the pipe:// sockets", DefaultValueFactory = _ => "/tmp" };
        var cpus = new Option<int>("--cpus-per-server") { Description = "CPUs Slurm allocates to each server", DefaultValueFactory = _ => 1 };
        var drain = new Option<double>("--drain-seconds") { Description = "How long a stopping server waits for running calls", DefaultValueFactory = _ => 10 };
        var signal = new Option<int>("--signal-seconds") { Description = "Seconds before the time limit at which Slurm sends SIGTERM (sbatch --signal=B:TERM@S)", DefaultValueFactory = _ => 60 };
        var heartbeat = new Option<double>("--heartbeat-seconds") { Description = "Seconds between registry heartbeats", DefaultValueFactory = _ => 30 };
        var metrics = new Option<bool>("--metrics") { Description = "Each server also listens on http://HOST:0 for /metrics and the health probes, not registered (its address is in the job's output)" };
        var jobName = new Option<string?>("--job-name") { Description = "Slurm job name (default: maas-MODEL)" };
        var output = new Option<string?>("--output") { Description = "Folder of the servers' output files, maas-JOB_TASK.out (default: the current folder)" };
        var maas = new Option<string?>("--maas") { Description = "The maas command on the compute nodes (default: this one)" };
        var serveArgs = new Option<string[]>("--serve-arg") { Description = "An extra argument of maas serve (repeatable), e.g. --serve-arg=--config --serve-arg=/etc/maas.json" };
        var wait = new Option<double>("--wait-seconds") { Description = "Wait until all servers are registered, at most this long (0: return once submitted)", DefaultValueFactory = _ => 0 };
        var print = new Option<bool>("--print") { Description = "Print the job script instead of submitting it" };
        var command = new Command("up", "Submit N model servers as a Slurm job array.")
        {
            model, servers, partition, time, registry, transport, host, socketDir, cpus, drain, signal, heartbeat, metrics, jobName, output, maas, serveArgs, wait, print,
        };
        command.SetAction((result, ct) => Failures.RunAsync(async () =>
        {
            string name = result.GetValue(model)!;
            var hosted = BenchmarkModels.Create(name);
            var job = new SlurmJob
            {
                Model = name,
                Servers = result.GetValue(servers),
                Partition = result.GetValue(partition),
                Time = result.GetValue(time),
                Registry = result.GetValue(registry) ?? (Environment.GetEnvironmentVariable(RegistryResolverOptions.EnvironmentVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment : null)
                    ?? throw new MaasException(MaasErrorCode.InvalidArgument, $"which registry? give --registry http://host:port or set {RegistryResolverOptions.EnvironmentVariable}: the servers register there and clients find them there."),
                Transport = result.GetValue(transport)!,
                Host = result.GetValue(host)!,
                SocketDirectory = result.GetValue(socketDir)!,
                CpusPerServer = result.GetValue(cpus),
                DrainSeconds = result.GetValue(drain),
                SignalSeconds = result.GetValue(signal),
                HeartbeatSeconds = result.GetValue(heartbeat),
                Metrics = result.GetValue(metrics),
                JobName = result.GetValue(jobName),
                OutputDirectory = Path.GetFullPath(result.GetValue(output) ?? "."),
                Maas = result.GetValue(maas) ?? SelfCommand(),
                ServeArguments = result.GetValue(serveArgs) ?? [],
            };
            string script = job.Script();
            if (result.GetValue(print))
            {
                Console.Write(script);
                return 0;
            }

            if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(RegistryOptions.KeyVariable)))
            {
                await Console.Error.WriteLineAsync($"maas: warning: {RegistryOptions.KeyVariable} is not set: the servers cannot register unless the registry takes writes without a key.").ConfigureAwait(false);
            }

            // The key reaches the job through its environment (sbatch exports it), never the script or the command line.
            string id = (await RunAsync("sbatch", ["--parsable"], script, ct).ConfigureAwait(false)).Trim().Split(';')[0];
            Console.WriteLine($"submitted job {id}: {job.Servers} servers of {name} ({hosted.Info.Uuid}), output {Path.Combine(job.OutputDirectory, $"maas-{id}_*.out")}");
            Console.WriteLine($"clients: maas+lb://?e=maas://{hosted.Info.Uuid} with MAAS_REGISTRY={job.Registry}");
            await Console.Out.FlushAsync(ct).ConfigureAwait(false);
            double waitSeconds = result.GetValue(wait);
            if (waitSeconds > 0)
            {
                await WaitRegisteredAsync(job.Registry, hosted.Info.Uuid, job.Servers, TimeSpan.FromSeconds(waitSeconds), ct).ConfigureAwait(false);
            }

            return 0;
        }));
        return command;
    }

    private static Command Down()
    {
        var job = new Argument<string>("job") { Description = "The job id `maas slurm up` printed (JOB, or JOB_TASK for one server)" };
        var command = new Command("down", "Cancel the servers (scancel): each drains on SIGTERM and deregisters.") { job };
        command.SetAction((result, ct) => Failures.RunAsync(async () =>
        {
            string id = JobId(result.GetValue(job)!);
            await RunAsync("scancel", [id], null, ct).ConfigureAwait(false);
            Console.WriteLine($"cancelled {id}");
            return 0;
        }));
        return command;
    }

    private static Command Status()
    {
        var job = new Argument<string>("job") { Description = "The job id `maas slurm up` printed" };
        var command = new Command("status", "The servers' state in Slurm (squeue).") { job };
        command.SetAction((result, ct) => Failures.RunAsync(async () =>
        {
            string id = JobId(result.GetValue(job)!);
            Console.Write(await RunAsync("squeue", ["-h", "-j", id, "-o", "%i %T %M %l %N %R"], null, ct).ConfigureAwait(false));
            return 0;
        }));
        return command;
    }

    /// <summary>A Slurm job id (digits, optionally _TASK), checked so that nothing else reaches scancel or squeue.</summary>
    internal static string JobId(string text)
    {
        var parts = text.Split('_');
        bool valid = parts.Length is 1 or 2 && parts.All(p => p.Length is > 0 and < 12 && p.All(char.IsAsciiDigit));
        return valid ? text : throw new MaasException(MaasErrorCode.InvalidArgument, $"'{text}' is not a Slurm job id (JOB or JOB_TASK, digits).");
    }

    // `dotnet maas.dll` when run through dotnet; the apphost or the NativeAOT binary otherwise.
    private static string SelfCommand()
    {
        string process = Environment.ProcessPath ?? "maas";
        return Path.GetFileNameWithoutExtension(process) == "dotnet"
            ? $"{SlurmJob.Quote(process)} {SlurmJob.Quote(Path.Combine(AppContext.BaseDirectory, "maas.dll"))}"
            : SlurmJob.Quote(process);
    }

    /// <summary>Runs a Slurm command; its standard output.</summary>
    /// <exception cref="MaasException">Unavailable when it is not installed or fails.</exception>
    private static async Task<string> RunAsync(string tool, string[] args, string? input, CancellationToken ct)
    {
        string? path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, tool)).FirstOrDefault(File.Exists);
        if (path is null)
        {
            throw new MaasException(MaasErrorCode.Unavailable, $"{tool} is not on PATH: run on a Slurm login node, or install Slurm's commands (Debian: apt-get install slurm-client).");
        }

        var info = new ProcessStartInfo(path) { RedirectStandardInput = input is not null, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info) ?? throw new MaasException(MaasErrorCode.Unavailable, $"{tool} did not start.");
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input.AsMemory(), ct).ConfigureAwait(false);
            process.StandardInput.Close();
        }

        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct).ConfigureAwait(false);
        string output = await stdout.ConfigureAwait(false);
        string errors = (await stderr.ConfigureAwait(false)).Trim();
        return process.ExitCode == 0
            ? output
            : throw new MaasException(MaasErrorCode.Unavailable, $"{tool} failed (exit {process.ExitCode}): {(errors.Length > 0 ? errors : output.Trim())}");
    }

    private static async Task WaitRegisteredAsync(string registry, Guid uuid, int servers, TimeSpan limit, CancellationToken ct)
    {
        using var client = new RegistryClient(new Uri(registry));
        var until = Stopwatch.StartNew();
        int found = 0;
        while (until.Elapsed < limit)
        {
            try
            {
                found = (await client.ResolveAsync(uuid, cancellationToken: ct).ConfigureAwait(false)).Endpoints.Count;
            }
            catch (RegistryException ex) when (ex.Error == RegistryError.UnknownModel)
            {
                found = 0;
            }

            if (found >= servers)
            {
                Console.WriteLine($"registered {found} servers");
                return;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250), ct).ConfigureAwait(false);
        }

        throw new MaasException(MaasErrorCode.DeadlineExceeded, $"{found} of {servers} servers registered within {limit.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s; see the job's output files and `maas slurm status`.");
    }
}

/// <summary>What <c>maas slurm up</c> submits, checked, as a job script.</summary>
internal sealed class SlurmJob
{
    public required string Model { get; init; }

    public required int Servers { get; init; }

    public string? Partition { get; init; }

    public string? Time { get; init; }

    public required string Registry { get; init; }

    public string Transport { get; init; } = "tcp";

    public string Host { get; init; } = "$(hostname -s)";

    public string SocketDirectory { get; init; } = "/tmp";

    public int CpusPerServer { get; init; } = 1;

    public double DrainSeconds { get; init; } = 10;

    public int SignalSeconds { get; init; } = 60;

    public double HeartbeatSeconds { get; init; } = 30;

    public bool Metrics { get; init; }

    public string? JobName { get; init; }

    public required string OutputDirectory { get; init; }

    public required string Maas { get; init; }

    public IReadOnlyList<string> ServeArguments { get; init; } = [];

    /// <summary>The sbatch script.</summary>
    /// <exception cref="MaasException">InvalidArgument naming the option that is wrong.</exception>
    public string Script()
    {
        Check();
        var s = new StringBuilder();
        s.Append("#!/bin/bash\n");
        s.Append(CultureInfo.InvariantCulture, $"#SBATCH --job-name={JobName ?? "maas-" + Model.Replace(':', '-')}\n");
        s.Append(CultureInfo.InvariantCulture, $"#SBATCH --array=0-{Servers - 1}\n");
        s.Append("#SBATCH --ntasks=1\n");
        s.Append(CultureInfo.InvariantCulture, $"#SBATCH --cpus-per-task={CpusPerServer}\n");
        if (Partition is not null)
        {
            s.Append(CultureInfo.InvariantCulture, $"#SBATCH --partition={Partition}\n");
        }

        if (Time is not null)
        {
            s.Append(CultureInfo.InvariantCulture, $"#SBATCH --time={Time}\n");
        }

        // SIGTERM to the batch shell, which is maas serve (exec): it deregisters, then drains.
        s.Append(CultureInfo.InvariantCulture, $"#SBATCH --signal=B:TERM@{SignalSeconds}\n");
        s.Append(CultureInfo.InvariantCulture, $"#SBATCH --output={OutputDirectory}/maas-%A_%a.out\n");
        s.Append("set -eu\n");
        string listen = Transport == "tcp"
            ? $"tcp://{Host}:0"
            : $"pipe://{SocketDirectory.TrimEnd('/')}/maas-${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}}.sock";
        s.Append(CultureInfo.InvariantCulture, $"listen=\"{listen}\"\n");
        s.Append(CultureInfo.InvariantCulture, $"echo \"maas server $SLURM_ARRAY_TASK_ID of {Servers} (job $SLURM_ARRAY_JOB_ID) on $(hostname) at $listen\"\n");
        var serve = new StringBuilder();
        serve.Append(CultureInfo.InvariantCulture, $"exec {Maas} serve --listen \"$listen\"");
        if (Metrics)
        {
            serve.Append(CultureInfo.InvariantCulture, $" --metrics-listen \"http://{(Transport == "tcp" ? Host : "127.0.0.1")}:0\"");
        }

        serve.Append(CultureInfo.InvariantCulture, $" --model {Quote(Model)} --register {Quote(Registry)}");
        serve.Append(CultureInfo.InvariantCulture, $" --drain-seconds {DrainSeconds.ToString(CultureInfo.InvariantCulture)} --heartbeat-seconds {HeartbeatSeconds.ToString(CultureInfo.InvariantCulture)}");
        foreach (var extra in ServeArguments)
        {
            serve.Append(' ').Append(Quote(extra));
        }

        s.Append(serve).Append('\n');
        return s.ToString();
    }

    private void Check()
    {
        static MaasException Bad(string message) => new(MaasErrorCode.InvalidArgument, message);
        if (Servers is < 1 or > 10_000)
        {
            throw Bad($"--servers must be from 1 to 10000, not {Servers}.");
        }

        if (Transport is not ("tcp" or "pipe"))
        {
            throw Bad($"--transport must be tcp or pipe, not '{Transport}'.");
        }

        if (Partition is not null && !Safe(Partition, ",-_."))
        {
            throw Bad($"--partition '{Partition}' is not a partition name (letters, digits, - _ . and commas between several).");
        }

        if (Time is not null && (Time.Length == 0 || !Time.All(c => char.IsAsciiDigit(c) || c is ':' or '-')))
        {
            throw Bad($"--time '{Time}' is not a Slurm time limit (MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS).");
        }

        if (JobName is not null && !Safe(JobName, "-_."))
        {
            throw Bad($"--job-name '{JobName}' may hold only letters, digits, - _ and .");
        }

        if (!Uri.TryCreate(Registry, UriKind.Absolute, out var registry) || registry.Scheme is not ("http" or "https"))
        {
            throw Bad($"--registry '{Registry}' is not a registry URL such as http://10.0.0.2:8470.");
        }

        if (registry.IsLoopback && Host != "127.0.0.1" && Host != "localhost" && Transport == "tcp")
        {
            // Not an error: one node, or a registry that every node reaches on its own loopback.
            Console.Error.WriteLine($"maas: warning: the registry {Registry} is a loopback address: only servers on this node can reach it.");
        }

        if (Host != "$(hostname -s)" && !Safe(Host, "-.:[]"))
        {
            throw Bad($"--host '{Host}' is not a host name or IP address.");
        }

        if (!SocketDirectory.StartsWith('/') || !Safe(SocketDirectory, "/-_."))
        {
            throw Bad($"--socket-dir '{SocketDirectory}' must be an absolute path of letters, digits, / - _ and .");
        }

        if (CpusPerServer is < 1 or > 4096)
        {
            throw Bad($"--cpus-per-server must be from 1 to 4096, not {CpusPerServer}.");
        }

        if (DrainSeconds < 0 || HeartbeatSeconds <= 0 || SignalSeconds is < 0 or > 65535)
        {
            throw Bad("--drain-seconds must not be negative, --heartbeat-seconds must be positive, --signal-seconds from 0 to 65535.");
        }

        if (OutputDirectory.Any(c => char.IsWhiteSpace(c) || c is '%' or '"' or '\'' or '$' or '`' or '\\'))
        {
            throw Bad($"--output '{OutputDirectory}' may not hold spaces, quotes, $, `, \\ or %.");
        }
    }

    private static bool Safe(string text, string extra) =>
        text.Length > 0 && text.All(c => char.IsAsciiLetterOrDigit(c) || extra.Contains(c, StringComparison.Ordinal));

    /// <summary>One shell word, single-quoted when it needs to be.</summary>
    public static string Quote(string word) =>
        word.Length > 0 && word.All(c => char.IsAsciiLetterOrDigit(c) || "/-_.:=@,+".Contains(c, StringComparison.Ordinal))
            ? word
            : "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
