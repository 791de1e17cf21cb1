using Demos.Maas.Protocol;
using Demos.Maas.Server;

namespace Demos.Maas.Security;

/// <summary>
/// The server's access check, the same on every transport: the caller must be authenticated (by the
/// handshake, a TLS certificate, or the HTTP host's authentication), and one of its roles must allow
/// the operation on the model. A model the caller may not touch at all is answered exactly like an
/// absent one, and ListModels lists only the models the caller may see.
/// </summary>
internal static class AuthorizationMiddleware
{
    public static Func<MaasDelegate, MaasDelegate> Create(MaasSecurityOptions options, ModelRegistry models) => next => async context =>
    {
        var user = context.User;
        if (user?.Identity?.IsAuthenticated != true)
        {
            throw new MaasException(MaasErrorCode.Unauthenticated, "This server requires credentials: an API key (MaasClientOptions.Credentials, 'Authorization: Bearer …') or a TLS client certificate.");
        }

        var permissions = new MaasPermissions(user, options);
        var request = context.Request;
        if (request.Operation == Operation.ListModels)
        {
            await next(context).ConfigureAwait(false);
            if (context.Response?.Models is { } all)
            {
                context.Response.Models = [.. all.Where(m => permissions.Allows(m, MaasPermissions.Info))];
            }

            return;
        }

        var model = context.Model ?? models.TryResolve(request.Model);
        if (model is null || !permissions.Allows(model.Info, group: null))
        {
            throw string.IsNullOrEmpty(request.Model)
                ? new MaasException(MaasErrorCode.InvalidArgument, "The request names no model.")
                : ModelRegistry.NotFound(request.Model);
        }

        string group = MaasPermissions.GroupOf(request.Operation);
        if (!permissions.Allows(model.Info, group))
        {
            throw new MaasException(MaasErrorCode.PermissionDenied, $"{user.Identity.Name} may not {request.Operation} on {model.Info.Name} (needs '{group}').");
        }

        context.Model = model;
        await next(context).ConfigureAwait(false);
    };
}
