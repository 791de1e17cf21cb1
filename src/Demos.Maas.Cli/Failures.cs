namespace Demos.Maas.Cli;

/// <summary>Turns failures into one clear line on stderr and an exit code, never a stack trace.</summary>
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
            return 10 + (int)ex.Code;
        }
        catch (OperationCanceledException)
        {
            await Console.Error.WriteLineAsync("maas: cancelled").ConfigureAwait(false);
            return 130;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or ArgumentException or InvalidOperationException or System.Text.Json.JsonException)
        {
            await Console.Error.WriteLineAsync($"maas: {ex.Message}").ConfigureAwait(false);
            return 2;
        }
    }
}
