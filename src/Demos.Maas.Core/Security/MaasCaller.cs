using System.Security.Claims;

namespace Demos.Maas.Security;

/// <summary>Who makes a call, as the transport that received it knows: for <see cref="Server.MaasServer.InvokeAsync"/>.</summary>
public sealed record MaasCaller
{
    /// <summary>The authenticated principal (e.g. ASP.NET Core's <c>HttpContext.User</c>), or null.</summary>
    public ClaimsPrincipal? User { get; init; }

    /// <summary>The caller's network address, for the audit log and per-address limits.</summary>
    public string? RemoteAddress { get; init; }

    /// <summary>The credentials the caller presented, when the transport did not authenticate them itself (the server then does).</summary>
    public string? Credentials { get; init; }

    /// <summary>An identity the transport established (e.g. a TLS client certificate's subject).</summary>
    public string? PeerIdentity { get; init; }
}
