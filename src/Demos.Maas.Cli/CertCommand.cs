using System.CommandLine;
using Demos.Maas.Security;

namespace Demos.Maas.Cli;

/// <summary><c>maas cert new</c>: a self-signed CA, server and client certificate set for trying TLS and mutual TLS.</summary>
internal static class CertCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--out", "-o") { Description = "Directory for ca.pem, server.pem/.key, client.pem/.key (created if missing)", Required = true };
        var host = new Option<string[]>("--host") { Description = "Another DNS name or IP address the server certificate is valid for (repeatable; localhost, 127.0.0.1 and ::1 are always in)" };
        var client = new Option<string>("--client-name") { Description = "Common name of the client certificate; its subject CN=NAME is the identity to map to roles in security.certificates", DefaultValueFactory = _ => "client" };
        var days = new Option<int>("--days") { Description = "Validity in days", DefaultValueFactory = _ => 30 };
        var create = new Command("new", "Make a self-signed CA, a server certificate and a client certificate (PEM), for testing.") { output, host, client, days };
        create.SetAction((result, _) => Failures.RunAsync(() =>
        {
            string directory = result.GetValue(output)!;
            CertificateAuthority.Create(directory, result.GetValue(host) ?? [], result.GetValue(client)!, TimeSpan.FromDays(Math.Max(1, result.GetValue(days))));
            Console.WriteLine($"wrote ca.pem, ca.key, server.pem, server.key, client.pem, client.key to {directory}");
            Console.WriteLine($"client identity: CN={result.GetValue(client)} (for security.certificates)");
            return Task.FromResult(0);
        }));
        return new Command("cert", "Certificates for tls:// and https://.") { create };
    }
}
