using System.Text.Json;
using Demos.Maas.Client;
using Demos.Maas.Models;
using Demos.Maas.Protocol;
using Demos.Maas.Security;
using Demos.Maas.Server;
using Demos.Maas.Transport;

namespace Demos.Maas.Tests;

/// <summary>
/// Authentication, authorization, the audit log and rate limits, the same over every transport:
/// keys made in the test, a real server and a real client.
/// </summary>
public abstract class SecurityConformanceTests
{
    /// <summary>The transports the client and server use.</summary>
    protected abstract IMaasTransport[] Transports { get; }

    /// <summary>A fresh address to listen on.</summary>
    protected abstract string NewListenUri();

    /// <summary>The client's transports, when they differ from the server's (TLS: the client trusts a CA, the server presents a certificate).</summary>
    protected virtual IMaasTransport[] ClientTransports => Transports;

    private sealed record Keys(string Admin, string Reader, string Gauss, string Revoked, string AdminWrongSecret, string Unknown);

    private async Task<(MaasServer Server, Uri Uri, Keys Keys, string AuditFile)> StartAsync(MaasRateLimitOptions? limits = null)
    {
        var (admin, adminKey) = ApiKeys.Create("admin-1", ["admin"]);
        var (reader, readerKey) = ApiKeys.Create("reader-1", ["reader"]);
        var (gauss, gaussKey) = ApiKeys.Create("gauss-only", ["gauss-reader"]);
        var (revoked, revokedKey) = ApiKeys.Create("old-key", ["admin"]);
        revokedKey.Revoked = true;
        string audit = Path.Combine(Path.GetTempPath(), $"maas-audit-{Guid.NewGuid():N}.jsonl");
        var security = new MaasSecurityOptions { Keys = [adminKey, readerKey, gaussKey, revokedKey], RateLimit = limits };
        security.Roles["gauss-reader"] = new MaasRole { Operations = ["info", "compute"], Models = ["gaussian1d"] };
        security.Audit.FilePath = audit;
        var server = new MaasServer(new MaasServerOptions { Security = security }, Transports);
        server.AddModel(GaussianModel.Create(1)).AddModel(DecayModel.Create());
        var uri = await server.ListenAsync(NewListenUri());
        string wrong = admin[..^4] + (admin.EndsWith("AAAA", StringComparison.Ordinal) ? "BBBB" : "AAAA");
        return (server, uri, new Keys(admin, reader, gauss, revoked, wrong, "maas_nobody.c2VjcmV0c2VjcmV0c2VjcmV0"), audit);
    }

    private async Task<MaasClient> ConnectAsync(Uri uri, string? key, bool retries = false)
    {
        var options = new MaasClientOptions { Credentials = key, Retry = retries ? new Middleware.RetryOptions { MaxAttempts = 50 } : null, Reconnect = false };
        foreach (var t in ClientTransports)
        {
            options.Transports.Add(t);
        }

        return await MaasClient.ConnectAsync(uri, options);
    }

    private async Task<MaasException> RefusedAsync(Uri uri, string? key)
    {
        // A refused caller fails when it connects (binary handshake, GET /v1), or at its first call.
        return await Assert.ThrowsAsync<MaasException>(async () =>
        {
            await using var client = await ConnectAsync(uri, key);
            await client.ListModelsAsync();
        });
    }

    [Fact]
    public async Task Only_a_valid_key_with_the_permission_succeeds_and_each_failure_has_its_code()
    {
        var (server, uri, keys, audit) = await StartAsync();
        await using (server)
        {
            var none = await RefusedAsync(uri, null);
            var wrong = await RefusedAsync(uri, keys.AdminWrongSecret);
            var unknown = await RefusedAsync(uri, keys.Unknown);
            var revoked = await RefusedAsync(uri, keys.Revoked);
            var garbage = await RefusedAsync(uri, "not a key at all");
            Assert.All(new[] { none, wrong, unknown, revoked, garbage }, e => Assert.Equal(MaasErrorCode.Unauthenticated, e.Code));

            // Wrong secret, unknown id and revoked key read the same: nothing tells which keys exist.
            Assert.Equal(wrong.Message, unknown.Message);
            Assert.Equal(wrong.Message, revoked.Message);

            await using var reader = await ConnectAsync(uri, keys.Reader);
            var gauss = await reader.GetModelAsync("gaussian1d");
            Assert.Equal(-0.5 * Math.Log(2 * Math.PI), await gauss.LogDensityAsync([0.0]), 12);
            var denied = await Assert.ThrowsAsync<MaasException>(async () => await gauss.UpdateParametersAsync(ParameterUpdate.Of("mu", 1.0)));
            Assert.Equal(MaasErrorCode.PermissionDenied, denied.Code);

            await using var admin = await ConnectAsync(uri, keys.Admin);
            var updated = await (await admin.GetModelAsync("gaussian1d")).UpdateParametersAsync(ParameterUpdate.Of("mu", 0.0));
            Assert.True(updated.Version > 0);
        }

        AssertAudit(audit, keys);
    }

    [Fact]
    public async Task A_caller_learns_nothing_about_models_it_may_not_see()
    {
        var (server, uri, keys, _) = await StartAsync();
        await using (server)
        {
            await using var limited = await ConnectAsync(uri, keys.Gauss);
            Assert.Equal(["gaussian1d"], (await limited.ListModelsAsync()).Select(m => m.Name));
            var hidden = await Assert.ThrowsAsync<MaasException>(() => limited.GetModelAsync("decay"));
            var absent = await Assert.ThrowsAsync<MaasException>(() => limited.GetModelAsync("no-such"));
            Assert.Equal(MaasErrorCode.NotFound, hidden.Code);
            Assert.Equal(absent.Code, hidden.Code);
            Assert.Equal(absent.Message.Replace("no-such", "X", StringComparison.Ordinal), hidden.Message.Replace("decay", "X", StringComparison.Ordinal));
            Assert.DoesNotContain("gaussian1d", absent.Message, StringComparison.Ordinal);

            // Sampling is not among the role's operations: denied, on a model it may see.
            var gauss = await limited.GetModelAsync("gaussian1d");
            var denied = await Assert.ThrowsAsync<MaasException>(async () => await gauss.SampleMatrixAsync(3, seed: 1));
            Assert.Equal(MaasErrorCode.PermissionDenied, denied.Code);
        }
    }

    [Fact]
    public async Task A_burst_over_the_rate_limit_gets_ResourceExhausted_with_retry_after_and_retries_complete_every_call()
    {
        var (server, uri, keys, _) = await StartAsync(new MaasRateLimitOptions { CallsPerSecond = 50, Burst = 5, MaxConcurrentPerCaller = 0 });
        await using (server)
        {
            await using (var eager = await ConnectAsync(uri, keys.Reader))
            {
                var gauss = await eager.GetModelAsync("gaussian1d");
                var errors = new List<MaasException>();
                for (int i = 0; i < 40; i++)
                {
                    try
                    {
                        await gauss.LogDensityAsync([0.0]);
                    }
                    catch (MaasException ex)
                    {
                        errors.Add(ex);
                    }
                }

                Assert.NotEmpty(errors);
                Assert.All(errors, e =>
                {
                    Assert.Equal(MaasErrorCode.ResourceExhausted, e.Code);
                    Assert.True(long.Parse(e.Details![RateLimitMiddleware.RetryAfterDetail], System.Globalization.CultureInfo.InvariantCulture) > 0);
                });
            }

            await using var patient = await ConnectAsync(uri, keys.Admin, retries: true);
            var model = await patient.GetModelAsync("gaussian1d");
            for (int i = 0; i < 40; i++)
            {
                Assert.Equal(-0.5 * Math.Log(2 * Math.PI), await model.LogDensityAsync([0.0]), 12);
            }
        }
    }

    [Fact]
    public void A_server_without_keys_refuses_a_non_loopback_address()
    {
        // Refused before anything binds: the test never listens on a non-loopback address.
        var server = new MaasServer(new MaasServerOptions(), Transports);
        string uri = NewListenUri().Replace("127.0.0.1", "0.0.0.0", StringComparison.Ordinal);
        if (!uri.Contains("0.0.0.0", StringComparison.Ordinal))
        {
            return; // Unix sockets and inproc:// are local by nature.
        }

        var refused = Assert.ThrowsAsync<MaasException>(() => server.ListenAsync(uri)).GetAwaiter().GetResult();
        Assert.Equal(MaasErrorCode.InvalidArgument, refused.Code);
        Assert.Contains("without authentication", refused.Message, StringComparison.Ordinal);
        server.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    // One record per call with the caller, never a secret or a payload.
    private static void AssertAudit(string path, Keys keys)
    {
        var lines = File.ReadAllLines(path);
        File.Delete(path);
        Assert.NotEmpty(lines);
        string all = string.Join("\n", lines);
        foreach (var secret in new[] { keys.Admin, keys.Reader, keys.Gauss, keys.Revoked })
        {
            Assert.DoesNotContain(secret.Split('.')[1], all, StringComparison.Ordinal);
        }

        var records = lines.Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.All(records, r =>
        {
            foreach (var field in new[] { "time", "identity", "model", "operation", "outcome", "bytes_in", "bytes_out", "duration_us", "remote" })
            {
                Assert.True(r.TryGetProperty(field, out _), $"audit record without '{field}'");
            }
        });
        Assert.Contains(records, r => r.GetProperty("identity").GetString() == "reader-1" && r.GetProperty("operation").GetString() == "LogDensity" && r.GetProperty("outcome").GetString() == "Ok" && r.GetProperty("bytes_in").GetInt64() == 8);
        Assert.Contains(records, r => r.GetProperty("identity").GetString() == "reader-1" && r.GetProperty("operation").GetString() == "UpdateParameters" && r.GetProperty("outcome").GetString() == "PermissionDenied");
        Assert.Contains(records, r => r.GetProperty("identity").GetString() == "admin-1" && r.GetProperty("operation").GetString() == "UpdateParameters" && r.GetProperty("outcome").GetString() == "Ok");
    }
}
