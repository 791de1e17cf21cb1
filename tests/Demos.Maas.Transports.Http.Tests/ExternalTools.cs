using System.Diagnostics;
using System.Text;

namespace Demos.Maas.Transports.Http.Tests;

/// <summary>
/// Finds the external programs the interoperability tests need. Missing tools skip those tests,
/// except under CI (CI=true), where a missing tool fails them: .ci/run installs python3-requests and nginx-light.
/// </summary>
internal static class ExternalTools
{
    public const string Python = "/usr/bin/python3";

    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    public static string ScriptPath(string name) => Path.Combine(AppContext.BaseDirectory, "Scripts", name);

    /// <summary>Skips unless /usr/bin/python3 can import requests (fails instead under CI).</summary>
    public static void RequirePythonRequests()
    {
        bool ok = File.Exists(Python) && Run(Python, ["-c", "import requests"], TimeSpan.FromSeconds(30)).ExitCode == 0;
        if (!ok && IsCi)
        {
            Assert.Fail("CI=true but /usr/bin/python3 with requests is missing: apt-get install -y python3-requests.");
        }

        Skip.IfNot(ok, "/usr/bin/python3 with the requests module is not installed (apt-get install -y python3-requests); set CI=true to make this a failure.");
    }

    /// <summary>The nginx binary; skips when missing (fails instead under CI).</summary>
    public static string RequireNginx()
    {
        var path = new[] { "/usr/sbin/nginx", "/usr/bin/nginx" }.FirstOrDefault(File.Exists);
        if (path is null && IsCi)
        {
            Assert.Fail("CI=true but nginx is missing: apt-get install -y nginx-light.");
        }

        Skip.If(path is null, "nginx is not installed (apt-get install -y nginx-light); set CI=true to make this a failure.");
        return path!;
    }

    /// <summary>Runs a program to its end (killed after <paramref name="timeout"/>).</summary>
    public static (int ExitCode, string Output) Run(string file, IEnumerable<string> args, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            return (-1, output + $"\n(killed after {timeout.TotalSeconds} s)");
        }

        process.WaitForExit();
        lock (output)
        {
            return (process.ExitCode, output.ToString());
        }
    }
}
