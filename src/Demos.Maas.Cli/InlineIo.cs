namespace Demos.Maas.Cli;

/// <summary>
/// <c>--inline-io</c>: completions of .NET's asynchronous sockets run on the runtime's I/O thread
/// instead of being handed to the thread pool, which saves one thread wake-up per message received
/// where they are used (TLS connections, HTTP, waiting writes; plain pipe:// and tcp:// connections
/// read on a thread of their own). The runtime reads the switch once, at its first asynchronous
/// socket operation, so it is set before any socket is made.
/// </summary>
/// <remarks>
/// Whatever runs in a completion then holds up every other socket of the process. The server keeps
/// that short: a call runs on the read loop only while its model has been quick (CallDurations), any
/// other call and every stream's next chunk go to the thread pool. TLS handshakes do run on the I/O
/// thread, so the option suits pipe:// and tcp:// servers of fast models (docs/user-guide.md).
/// </remarks>
internal static class InlineIo
{
    public const string Variable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>Whether completions run inline in this process (the option, or the variable set by the user).</summary>
    public static bool Enabled => Environment.GetEnvironmentVariable(Variable) == "1";

    public static void Enable() => Environment.SetEnvironmentVariable(Variable, "1");
}
