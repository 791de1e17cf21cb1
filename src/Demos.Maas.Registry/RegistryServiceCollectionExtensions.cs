using Demos.Maas.Transport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Demos.Maas.Registry;

/// <summary>DI registration of the registry's write authentication and of <c>maas://</c> resolution.</summary>
public static class RegistryServiceCollectionExtensions
{
    /// <summary>The authorization policy the registry's write routes require.</summary>
    public const string WritePolicy = "MaasRegistryWrite";

    /// <summary>
    /// Adds ASP.NET Core authentication by registry key (<c>Authorization: Bearer &lt;key&gt;</c>, checked
    /// against <paramref name="keyHash"/> from <see cref="RegistryKey.Hash"/>) and the <see cref="WritePolicy"/> policy.
    /// </summary>
    public static IServiceCollection AddMaasRegistryAuthentication(this IServiceCollection services, string keyHash)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (!RegistryKey.IsValidHash(keyHash))
        {
            throw new ArgumentException("Expected a key hash made by RegistryKey.Hash (maas registry key): sha256$<salt>$<hash>.", nameof(keyHash));
        }

        return AddKeyAuthentication(services, keyHash);
    }

    /// <summary>With a null hash every write is refused (a read-only registry).</summary>
    internal static IServiceCollection AddKeyAuthentication(IServiceCollection services, string? keyHash)
    {
        services.AddAuthentication(RegistryKeyAuthenticationHandler.SchemeName)
            .AddScheme<RegistryKeyAuthenticationOptions, RegistryKeyAuthenticationHandler>(RegistryKeyAuthenticationHandler.SchemeName, o => o.KeyHash = keyHash);
        services.AddAuthorizationBuilder().AddPolicy(WritePolicy, p => p.AddAuthenticationSchemes(RegistryKeyAuthenticationHandler.SchemeName).RequireAuthenticatedUser());
        return services;
    }

    /// <summary>Registers <c>maas://uuid[@version]</c> for clients, resolving through <paramref name="options"/> (default: the <c>MAAS_REGISTRY</c> environment variable).</summary>
    public static IServiceCollection AddMaasRegistryResolver(this IServiceCollection services, RegistryResolverOptions? options = null)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IMaasTransport, RegistryTransport>(_ => new RegistryTransport(options)));
        return services;
    }
}
