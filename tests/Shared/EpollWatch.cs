namespace Demos.Maas.Tests;

/// <summary>
/// Which of this process's sockets the runtime's epoll thread watches, read from /proc: a socket
/// once used in an asynchronous wait stays registered, and its every packet then wakes that thread.
/// </summary>
internal static class EpollWatch
{
    // The socket inode of this process's connection from localPort to remotePort. /proc/net/tcp
    // lists the whole host: another process (a test assembly running beside this one) may use
    // the same ephemeral port towards another address, and closed connections linger in
    // TIME_WAIT with inode 0, so rows are matched on both ports and on this process's sockets.
    public static long SocketInode(int localPort, int remotePort) =>
        OwnConnection(row => row.LocalPort == localPort && row.RemotePort == remotePort);

    // The one established connection to serverPort that is not the server's own end.
    public static long ClientSocketInode(int serverPort) =>
        OwnConnection(row => row.RemotePort == serverPort && row.LocalPort != serverPort);

    // The one connection of this process that a server on serverPort accepted.
    public static long AcceptedSocketInode(int serverPort) =>
        OwnConnection(row => row.LocalPort == serverPort && row.RemotePort != 0);

    private static long OwnConnection(Func<(int LocalPort, int RemotePort, long Inode), bool> matches)
    {
        var mine = new HashSet<long>(OwnSocketInodes());
        return TcpTable().Single(row => matches(row) && mine.Contains(row.Inode)).Inode;
    }

    private static IEnumerable<(int LocalPort, int RemotePort, long Inode)> TcpTable() =>
        File.ReadAllLines("/proc/net/tcp").Skip(1).Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Select(f =>
            (Convert.ToInt32(f[1].Split(':')[1], 16), Convert.ToInt32(f[2].Split(':')[1], 16), long.Parse(f[9], System.Globalization.CultureInfo.InvariantCulture)));

    private static IEnumerable<long> OwnSocketInodes() =>
        Directory.GetFiles("/proc/self/fd").Select(Link).OfType<string>().Where(l => l.StartsWith("socket:[", StringComparison.Ordinal)).Select(l => long.Parse(l[8..^1], System.Globalization.CultureInfo.InvariantCulture));

    // The socket inodes that every epoll instance of this process watches (fdinfo's "tfd:" lines name the watched descriptors).
    public static HashSet<long> WatchedSocketInodes()
    {
        var watched = new HashSet<long>();
        foreach (var fd in Directory.GetFiles("/proc/self/fd").Where(f => Link(f) == "anon_inode:[eventpoll]"))
        {
            string info;
            try
            {
                info = File.ReadAllText($"/proc/self/fdinfo/{Path.GetFileName(fd)}");
            }
            catch (IOException)
            {
                continue; // closed meanwhile
            }

            foreach (var line in info.Split('\n').Where(l => l.StartsWith("tfd:", StringComparison.Ordinal)))
            {
                string target = line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
                if (Link($"/proc/self/fd/{target}") is { } link && link.StartsWith("socket:[", StringComparison.Ordinal))
                {
                    watched.Add(long.Parse(link[8..^1], System.Globalization.CultureInfo.InvariantCulture));
                }
            }
        }

        return watched;
    }

    private static string? Link(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget;
        }
        catch (IOException)
        {
            return null; // closed meanwhile
        }
    }
}
