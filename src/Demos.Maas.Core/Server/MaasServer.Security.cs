using System.Net;
using System.Security.Claims;
using Demos.Maas.Security;
using Microsoft.Extensions.Logging;

namespace Demos.Maas.Server;

// Authentication, authorization, rate limits, the audit log and the listen-address rule (docs/security.md).
public sealed partial class MaasServer
{
    private CallerAuthenticator? _authenticator;
    private RateLimitMiddleware? _rateLimit;
    private AuditMiddleware? _audit;
    private AuditFileSink? _auditFile;

    /// <summary>True when callers must authenticate (<see cref="MaasServerOptions.Security"/> is set).</summary>
    public bool RequiresAuthentication => _authenticator is not null;

    /// <summary>
    /// The principal of a caller who presented <paramref name="credentials"/> (an API key) or a TLS
    /// client certificate with subject <paramref name="certificateSubject"/>; null when this server
    /// does not authenticate. Transports call it once per connection (the binary handshake) or per
    /// request (HTTP, through its authentication handler).
    /// </summary>
    /// <exception cref="MaasException">Unauthenticated: nothing presented was accepted.</exception>
    public ClaimsPrincipal? Authenticate(string? credentials, string? certificateSubject) =>
        _authenticator?.Authenticate(credentials, certificateSubject);

    private void InitSecurity(ILoggerFactory loggers)
    {
        if (Options.Security is not { } security)
        {
            return;
        }

        _authenticator = new CallerAuthenticator(security);
        _rateLimit = security.RateLimit is { } limits ? new RateLimitMiddleware(limits) : null;
        if (security.Audit.Enabled)
        {
            _auditFile = security.Audit.FilePath is { } path ? new AuditFileSink(path) : null;
            _audit = new AuditMiddleware(loggers.CreateLogger("Demos.Maas.Audit"), _auditFile);
        }
    }

    private MaasPipelineBuilder SecurityPipeline()
    {
        var pipeline = new MaasPipelineBuilder();
        if (Options.Security is { } security)
        {
            if (_audit is not null)
            {
                pipeline.Use(_audit.Middleware);
            }

            if (_rateLimit is not null)
            {
                pipeline.Use(_rateLimit.Middleware);
            }

            pipeline.Use(AuthorizationMiddleware.Create(security, Models));
        }

        return pipeline;
    }

    // Authenticates a call whose transport did not (HTTP without an authentication handler, MPI).
    private ClaimsPrincipal? UserOf(MaasCaller? caller)
    {
        if (caller?.User?.Identity?.IsAuthenticated == true || _authenticator is null)
        {
            return caller?.User;
        }

        return caller is { Credentials: null, PeerIdentity: null } or null ? caller?.User : _authenticator.Authenticate(caller.Credentials, caller.PeerIdentity);
    }

    /// <summary>
    /// A server without authentication listens on loopback addresses and Unix sockets only, unless
    /// <see cref="MaasServerOptions.AllowInsecure"/> says otherwise; then every start warns.
    /// </summary>
    private void CheckListenAddress(Uri uri)
    {
        if (RequiresAuthentication || IsLocal(uri))
        {
            return;
        }

        if (!Options.AllowInsecure)
        {
            throw new MaasException(MaasErrorCode.InvalidArgument,
                $"Refusing to listen on {uri} without authentication: anyone who can reach it could call every model, read its data and change its parameters. Configure API keys (MaasServerOptions.Security, maas key new) or listen on 127.0.0.1; to accept the risk, set AllowInsecure (maas serve --insecure).");
        }

        LogInsecure(_logger, uri.ToString());
    }

    // Network listeners bind IP addresses (a name other than localhost is refused by the transport
    // itself); every other scheme (Unix sockets, inproc, MPI) is local to the machine or the job.
    private static bool IsLocal(Uri uri)
    {
        if (uri.Scheme is not ("tcp" or "tls" or "http" or "https"))
        {
            return true;
        }

        string host = uri.Host.Trim('[', ']');
        if (host == "*")
        {
            return false;
        }

        return !IPAddress.TryParse(host, out var ip) || IPAddress.IsLoopback(ip);
    }

    private void DisposeSecurity()
    {
        _rateLimit?.Dispose();
        _auditFile?.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "INSECURE: listening on {Uri} without authentication; anyone who can reach it may call every model, read its data and change its parameters")]
    private static partial void LogInsecure(ILogger logger, string uri);
}
