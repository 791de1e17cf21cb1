namespace Demos.Maas.Cli;

/// <summary>
/// The exit codes of every maas command (the table in docs/user-guide.md). A failure with a code
/// from the protocol's error table exits with 10 + that code, whether maas or the server found it,
/// so scripts can tell a bad input (11) from a missing model (12) or an unreachable server (20).
/// </summary>
internal static class ExitCodes
{
    /// <summary>Success; for <c>health</c>: the server is ready.</summary>
    public const int Success = 0;

    /// <summary><c>health</c> only: the server is not ready (unreachable, draining or failing).</summary>
    public const int NotReady = 1;

    /// <summary>The command line is wrong: unknown command or option, missing argument, a value not of its type.</summary>
    public const int Usage = 2;

    /// <summary>Interrupted by SIGINT (Ctrl+C) before the command finished.</summary>
    public const int Interrupted = 130;

    /// <summary>10 + the protocol error code (11 InvalidArgument ... 23 Internal).</summary>
    public static int Of(MaasErrorCode code) => 10 + (int)code;
}
