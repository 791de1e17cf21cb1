using Demos.Maas.Tests;

namespace Demos.Maas.Cli.Tests;

/// <summary><c>maas slurm</c> without a cluster: the job script it writes, and every bad input refused with a clear, typed error.</summary>
public sealed class SlurmCommandTests
{
    private static readonly string[] Up = ["slurm", "up", "--model", "gaussian1d", "--servers", "3", "--registry", "http://127.0.0.1:8470", "--print"];

    [Fact]
    public async Task The_job_script_is_an_array_whose_tasks_exec_maas_serve_with_registration_and_a_drain_signal()
    {
        var (code, stdout, stderr) = await MaasProcess.RunAsync([.. Up, "--partition", "compute", "--time", "01:00:00", "--host", "127.0.0.1", "--metrics", "--output", "/tmp/maas-out"]);
        Assert.True(code == 0, stderr);
        Assert.StartsWith("#!/bin/bash\n", stdout, StringComparison.Ordinal);
        Assert.Contains("#SBATCH --array=0-2\n", stdout, StringComparison.Ordinal);
        Assert.Contains("#SBATCH --partition=compute\n", stdout, StringComparison.Ordinal);
        Assert.Contains("#SBATCH --time=01:00:00\n", stdout, StringComparison.Ordinal);
        Assert.Contains("#SBATCH --signal=B:TERM@60\n", stdout, StringComparison.Ordinal);
        Assert.Contains("#SBATCH --output=/tmp/maas-out/maas-%A_%a.out\n", stdout, StringComparison.Ordinal);
        Assert.Contains("listen=\"tcp://127.0.0.1:0\"", stdout, StringComparison.Ordinal);
        Assert.Matches(@"\nexec .*maas\.dll serve --listen ""\$listen"" --metrics-listen ""http://127\.0\.0\.1:0"" --model gaussian1d --register http://127\.0\.0\.1:8470 --drain-seconds 10", stdout);
        Assert.DoesNotContain("MAAS_REGISTRY_KEY", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_pipe_server_listens_on_a_socket_named_after_its_job_and_task()
    {
        var (code, stdout, stderr) = await MaasProcess.RunAsync([.. Up, "--transport", "pipe", "--socket-dir", "/run/maas"]);
        Assert.True(code == 0, stderr);
        Assert.Contains("listen=\"pipe:///run/maas/maas-${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}.sock\"", stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(11, "--servers must be from 1 to 10000, not 0", "--servers", "0")]
    [InlineData(11, "--transport must be tcp or pipe, not 'udp'", "--transport", "udp")]
    [InlineData(11, "--partition 'a b' is not a partition name", "--partition", "a b")]
    [InlineData(11, "--time 'soon' is not a Slurm time limit", "--time", "soon")]
    [InlineData(11, "--registry 'ftp://x' is not a registry URL", "--registry", "ftp://x")]
    [InlineData(11, "--host 'a;b' is not a host name or IP address", "--host", "a;b")]
    [InlineData(11, "--socket-dir 'run' must be an absolute path", "--transport", "pipe", "--socket-dir", "run")]
    [InlineData(11, "--cpus-per-server must be from 1 to 4096, not 0", "--cpus-per-server", "0")]
    [InlineData(11, "--job-name 'x y' may hold only", "--job-name", "x y")]
    [InlineData(11, "busy:MS needs MS from 1 to 60000", "--model", "busy:0")]
    [InlineData(12, "No built-in model 'nope'", "--model", "nope")]
    [InlineData(2, "abc", "--servers", "abc")]
    public async Task Bad_arguments_of_slurm_up_are_refused_with_a_clear_error(int expected, string message, params string[] args)
    {
        // Each case replaces one valid value of Up (or adds an option).
        var line = Up.ToList();
        for (int i = 0; i < args.Length; i += 2)
        {
            int at = line.IndexOf(args[i]);
            if (at >= 0)
            {
                line[at + 1] = args[i + 1];
            }
            else
            {
                line.AddRange([args[i], args[i + 1]]);
            }
        }

        var (code, _, stderr) = await MaasProcess.RunAsync([.. line]);
        Assert.True(expected == code, $"exit {code}, expected {expected}; stderr:\n{stderr}");
        Assert.Contains(message, stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Slurm_up_without_a_registry_says_which_option_is_missing()
    {
        var (code, stderr) = await RunWithPathAsync(Environment.GetEnvironmentVariable("PATH") ?? "", "slurm", "up", "--model", "gaussian1d", "--servers", "2");
        Assert.Equal(11, code);
        Assert.Contains("which registry? give --registry http://host:port or set MAAS_REGISTRY", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("x;y")]
    [InlineData("12_")]
    [InlineData("1234567890123")]
    public async Task Slurm_down_and_status_take_only_job_ids(string job)
    {
        foreach (var verb in new[] { "down", "status" })
        {
            var (code, _, stderr) = await MaasProcess.RunAsync("slurm", verb, job);
            Assert.Equal(11, code);
            Assert.Contains($"'{job}' is not a Slurm job id (JOB or JOB_TASK, digits)", stderr, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("sbatch", "slurm", "up", "--model", "gaussian1d", "--servers", "2", "--registry", "http://127.0.0.1:8470")]
    [InlineData("scancel", "slurm", "down", "42")]
    [InlineData("squeue", "slurm", "status", "42")]
    public async Task Without_slurm_on_path_each_command_says_what_to_install(string tool, params string[] args)
    {
        var (code, stderr) = await RunWithPathAsync("/nonexistent", args);
        Assert.Equal(20, code);
        Assert.Contains($"maas: Unavailable: {tool} is not on PATH: run on a Slurm login node, or install Slurm's commands", stderr, StringComparison.Ordinal);
    }

    private static async Task<(int Code, string Stderr)> RunWithPathAsync(string path, params string[] args)
    {
        string dotnet = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, "dotnet")).First(File.Exists);
        var environment = new Dictionary<string, string> { ["PATH"] = path, ["MAAS_REGISTRY"] = "" };
        var (code, output) = await TestEnvironment.RunAsync(dotnet, Path.GetTempPath(), [MaasProcess.ToolPath, .. args], environment, TimeSpan.FromMinutes(2));
        return (code, output);
    }
}
