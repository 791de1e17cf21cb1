using Demos.Maas.Tests;

namespace Demos.Maas.Transports.Mpi.Tests;

/// <summary>
/// Mode 1 launched by Slurm instead of mpirun: <c>srun --mpi=pmix --multi-prog</c> starts rank 0 (the
/// driver) and two <c>maas mpi-worker</c> ranks on a single-node cluster from Debian's slurm-wlm and
/// munge (deploy/slurm/local-cluster.sh), with Debian's Open MPI.
/// </summary>
public sealed class SlurmMpiTests
{
    [SkippableFact]
    public async Task Srun_with_pmix_starts_maas_mpi_worker_ranks_that_pass_every_capability_check()
    {
        bool root = Environment.UserName == "root";
        bool installed = new[] { "srun", "slurmctld", "slurmd", "munged", "mpirun" }.All(t => TestEnvironment.OnPath(t) || File.Exists("/usr/sbin/" + t));
        Assert.True(Environment.GetEnvironmentVariable("CI") != "true" || (root && installed), "Slurm (slurm-wlm, munge), Open MPI and root are needed on CI: scripts/install-test-deps.sh installs them.");
        Skip.If(!root || !installed, "needs root, Debian's slurm-wlm and munge, and Open MPI");

        string dir = Path.Combine("/tmp", $"maas-slurm-{Guid.NewGuid():N}"[..20]);
        string script = Path.Combine(TestEnvironment.RepositoryRoot, "deploy", "slurm", "local-cluster.sh");
        try
        {
            var (code, output) = await TestEnvironment.RunAsync("bash", TestEnvironment.RepositoryRoot, [script, "start", dir, "2"], limit: TimeSpan.FromMinutes(2));
            Assert.True(code == 0, $"the cluster did not start:\n{output}");
            string programs = Path.Combine(dir, "ranks.conf");
            await File.WriteAllTextAsync(programs, $"0 dotnet {MpiJobs.Driver} checks\n1-2 dotnet {MpiJobs.Maas} mpi-worker --model gaussian2d --model decay\n");
            var environment = new Dictionary<string, string>
            {
                ["SLURM_CONF"] = Path.Combine(dir, "slurm.conf"),
                ["OMPI_MCA_btl"] = "self,tcp",
                ["OMPI_MCA_btl_tcp_if_include"] = "lo",
                ["OMPI_MCA_pml"] = "ob1",
            };

            // Three ranks on two cores: --overcommit lets one job run more tasks than it has CPUs.
            var (srun, text) = await TestEnvironment.RunAsync("srun", dir, ["--mpi=pmix", "-n", "3", "--overcommit", "--time", "5", "--multi-prog", programs], environment, TimeSpan.FromMinutes(4));
            Assert.True(srun == 0, $"srun exited {srun}:\n{text}");
            string[] checks = ["workers", "info", "logdensity-small", "logdensity-split-across-ranks-in-order", "gradient-x-split", "gradient-theta",
                "evaluate-split", "vjp-jvp-split", "sample-seeded", "data", "parameters-updated-on-every-rank", "concurrent-calls", "unknown-model-not-found"];
            foreach (var check in checks)
            {
                Assert.Contains($"CHECK {check} PASS", text, StringComparison.Ordinal);
            }

            Assert.Contains("SUMMARY PASS failed=0", text, StringComparison.Ordinal);
        }
        finally
        {
            await TestEnvironment.RunAsync("bash", TestEnvironment.RepositoryRoot, [script, "stop", dir], limit: TimeSpan.FromMinutes(1));
        }
    }
}
