using System.CommandLine;
using System.Text.RegularExpressions;

namespace Demos.Maas.Cli;

/// <summary>
/// Reports a command line that does not parse: one line per problem in the user's terms (no .NET
/// type names), a pointer to --help, and exit code <see cref="ExitCodes.Usage"/>.
/// </summary>
internal static partial class CommandLineErrors
{
    public static int Report(ParseResult parse)
    {
        foreach (var error in parse.Errors)
        {
            Console.Error.WriteLine($"maas: {Explain(error.Message)}");
        }

        string command = parse.CommandResult.Command is RootCommand ? "maas" : $"maas {parse.CommandResult.Command.Name}";
        Console.Error.WriteLine($"Run '{command} --help' for usage.");
        return ExitCodes.Usage;
    }

    /// <summary>Rewrites System.CommandLine's "as expected type 'System.Int64'" into what the option takes.</summary>
    internal static string Explain(string message)
    {
        var match = CannotParse().Match(message);
        if (!match.Success)
        {
            return message;
        }

        string value = match.Groups["value"].Value, option = match.Groups["option"].Value;
        string type = match.Groups["type"].Value;
        if (type.StartsWith("System.Nullable`1[", StringComparison.Ordinal))
        {
            type = type["System.Nullable`1[".Length..].TrimEnd(']');
        }

        string wanted = type switch
        {
            "System.Int32" or "System.Int64" => "a whole number, e.g. 5",
            "System.UInt64" => "a non-negative whole number, e.g. 42",
            "System.Double" => "a number, e.g. 2.5",
            "System.Boolean" => "true or false",
            "Microsoft.Extensions.Logging.LogLevel" => "one of Trace, Debug, Information, Warning, Error, Critical, None",
            var other => other[(other.LastIndexOf('.') + 1)..],
        };
        return $"{option} takes {wanted}; '{value}' is not one.";
    }

    [GeneratedRegex(@"Cannot parse argument '(?<value>.*)' for (option|argument) '(?<option>[^']*)' as expected type '(?<type>[^']*)'")]
    private static partial Regex CannotParse();
}
