namespace Demos.Maas.Cli;

/// <summary>Turns failures into one clear line on stderr and an exit code (<see cref="ExitCodes"/>), never a stack trace.</summary>
internal static class Failures
{
    public static async Task<int> RunAsync(Func<Task<int>> action)
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (MaasException ex)
        {
            await Console.Error.WriteLineAsync($"maas: {ex.Code}: {ex.Message}").ConfigureAwait(false);
            return ExitCodes.Of(ex.Code);
        }
        catch (OperationCanceledException)
        {
            await Console.Error.WriteLineAsync("maas: cancelled").ConfigureAwait(false);
            return ExitCodes.Interrupted;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or ArgumentException or InvalidOperationException or System.Text.Json.JsonException)
        {
            // Unreadable files and input of the wrong form: a bad argument found by maas itself.
            await Console.Error.WriteLineAsync($"maas: {MaasErrorCode.InvalidArgument}: {ex.Message}").ConfigureAwait(false);
            return ExitCodes.Of(MaasErrorCode.InvalidArgument);
        }
    }
}
