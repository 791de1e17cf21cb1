namespace Demos.Maas.Transport;

/// <summary>
/// The transports a client or server may use, looked up by role and URI. The in-process transport is
/// always among them.
/// </summary>
internal sealed class TransportSet
{
    private readonly IMaasTransport[] _transports;

    public TransportSet(IEnumerable<IMaasTransport>? transports)
    {
        var list = new List<IMaasTransport>(transports ?? []);
        if (!list.OfType<InProcessTransport>().Any())
        {
            list.Add(new InProcessTransport());
        }

        _transports = [.. list];
    }

    /// <summary>The first transport in role <typeparamref name="TRole"/> that handles <paramref name="uri"/>, or null.</summary>
    public TRole? Find<TRole>(Uri uri)
        where TRole : class, IMaasTransport
    {
        foreach (var transport in _transports)
        {
            if (transport is TRole role && transport.CanHandle(uri))
            {
                return role;
            }
        }

        return null;
    }

    /// <summary>The error for a URI no transport handles in the role asked for.</summary>
    public MaasException NoTransport(Uri uri, string role)
    {
        string hint = uri.Scheme switch
        {
            "pipe" or "unix" => "AddPipeTransport() / new PipeTransport() (package Demos.Maas.Transports.Pipe)",
            "tcp" => "AddTcpTransport() / new TcpTransport() (package Demos.Maas.Transports.Tcp)",
            "shm" => "AddShmTransport() / new ShmTransport() (package Demos.Maas.Transports.Shm)",
            "http" or "http+unix" => "AddHttpTransport() / new HttpTransport() (package Demos.Maas.Transports.Http)",
            "umbridge+http" => "AddUmBridgeClient() / new UmBridgeTransport() (package Demos.Maas.UmBridge)",
            "maas" => "AddMaasRegistryResolver() / new RegistryTransport() (package Demos.Maas.Registry)",
            _ => "the transport's package and its registration",
        };
        bool otherRole = _transports.Any(t => t.CanHandle(uri));
        return new MaasException(MaasErrorCode.InvalidArgument, otherRole
            ? $"The transport for '{uri.Scheme}://' cannot {role}."
            : $"No transport for '{uri.Scheme}://' is registered; add {hint}.");
    }

    /// <summary>Parses a URI string with a clear error.</summary>
    public static Uri Parse(string uri)
    {
        if (!Uri.TryCreate(uri, UriKind.Absolute, out var parsed))
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"'{uri}' is not an absolute URI such as tcp://127.0.0.1:5000 or pipe:///tmp/model.sock.");
        }

        return parsed;
    }
}
