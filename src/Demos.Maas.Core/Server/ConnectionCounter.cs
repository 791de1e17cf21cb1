using System.Net;

namespace Demos.Maas.Server;

/// <summary>Counts served connections, in all and per remote address, against <see cref="ServerLimits"/>.</summary>
internal sealed class ConnectionCounter(ServerLimits limits)
{
    private readonly Dictionary<string, int> _perAddress = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private int _total;

    public int Total
    {
        get
        {
            lock (_lock)
            {
                return _total;
            }
        }
    }

    /// <summary>Counts the connection in, or returns why it is refused (then nothing is counted).</summary>
    public string? TryEnter(string remote)
    {
        string address = AddressOf(remote);
        lock (_lock)
        {
            if (_total >= limits.MaxConnections)
            {
                return $"{_total} connections are open (limit {limits.MaxConnections}).";
            }

            _perAddress.TryGetValue(address, out int mine);
            if (mine >= limits.MaxConnectionsPerAddress)
            {
                return $"{mine} connections are open from {address} (limit {limits.MaxConnectionsPerAddress}).";
            }

            _perAddress[address] = mine + 1;
            _total++;
            return null;
        }
    }

    public void Leave(string remote)
    {
        string address = AddressOf(remote);
        lock (_lock)
        {
            if (_perAddress.TryGetValue(address, out int mine))
            {
                if (mine <= 1)
                {
                    _perAddress.Remove(address);
                }
                else
                {
                    _perAddress[address] = mine - 1;
                }

                _total--;
            }
        }
    }

    // "10.0.0.7:51234" and "[::1]:51234" count by host: a client opens each connection from a new port.
    private static string AddressOf(string remote) =>
        IPEndPoint.TryParse(remote, out var endPoint) ? endPoint.Address.ToString() : remote;
}
