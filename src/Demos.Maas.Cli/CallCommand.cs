using System.CommandLine;
using System.Text;
using System.Text.Json;
using Demos.Maas.Client;
using Demos.Maas.Protocol;
using Demos.Maas.Transports.Http;

namespace Demos.Maas.Cli;

/// <summary>
/// <c>maas call URI MODEL OP</c>: one operation from the shell. Input (x, theta, v, parameter
/// values) as JSON or CSV from --input or stdin; output as JSON or CSV on stdout.
/// </summary>
internal static class CallCommand
{
    private static readonly string[] Operations = ["info", "logdensity", "evaluate", "gradient", "sample", "datasets", "data", "parameters", "update-parameters"];

    public static Command Create()
    {
        var uri = new Argument<string>("uri") { Description = "Server URI, or maas+lb:///MODEL?e=URI&e=URI to spread calls over several servers (docs/scale-out.md)" };
        var model = new Argument<string>("model") { Description = "Model name or uuid" };
        var op = new Argument<string>("operation") { Description = string.Join(" | ", Operations) };
        var input = new Option<string?>("--input", "-i") { Description = "Input file ('-' or omitted with piped stdin: read stdin). JSON: {\"x\": [[..]], \"theta\": [..], \"v\": [[..]]} or just [[..]]; for update-parameters {\"name\": [..]}. CSV: rows of x." };
        var format = new Option<string>("--format", "-f") { Description = "json | csv (input and output)", DefaultValueFactory = _ => "json" };
        var kind = new Option<string>("--kind") { Description = "gradient kind: x | theta | vjp | jvp", DefaultValueFactory = _ => "x" };
        var count = new Option<long>("--count", "-n") { Description = "sample: draws; data: rows (-1 = all)", DefaultValueFactory = _ => -1 };
        var seed = new Option<ulong?>("--seed") { Description = "sample: seed" };
        var dataset = new Option<string?>("--dataset") { Description = "data: dataset name" };
        var offset = new Option<long>("--offset") { Description = "data: first row", DefaultValueFactory = _ => 0 };
        var timeout = new Option<double?>("--timeout-ms") { Description = "Deadline of the call in milliseconds" };
        var command = new Command("call", "Call one operation of a model; JSON or CSV in and out.") { uri, model, op, input, format, kind, count, seed, dataset, offset, timeout };
        command.SetAction((result, ct) => Failures.RunAsync(async () =>
        {
            string operation = result.GetValue(op)!.ToLowerInvariant();
            if (!Operations.Contains(operation))
            {
                throw new MaasException(MaasErrorCode.InvalidArgument, $"unknown operation '{operation}'; choose one of: {string.Join(", ", Operations)}.");
            }

            bool csv = result.GetValue(format) switch
            {
                "json" => false,
                "csv" => true,
                var f => throw new MaasException(MaasErrorCode.InvalidArgument, $"unknown format '{f}'; use json or csv."),
            };
            var options = Transports.ClientOptions();
            if (result.GetValue(timeout) is { } ms)
            {
                options.DefaultTimeout = TimeSpan.FromMilliseconds(ms);
            }

            await using var target = await ModelTarget.ConnectAsync(result.GetValue(uri)!, result.GetValue(model)!, options, ct).ConfigureAwait(false);
            var remote = target.Model;
            var call = new Invocation(remote, csv, result.GetValue(input), ct);
            switch (operation)
            {
                case "info":
                    InfoCommand.PrintJson([remote.Info]);
                    break;
                case "logdensity":
                case "evaluate":
                    {
                        var (x, theta, _) = await call.ReadPointsAsync().ConfigureAwait(false);
                        using (x)
                        using (var y = operation == "evaluate" ? await remote.EvaluateAsync(x, theta, ct).ConfigureAwait(false) : await remote.LogDensityAsync(x, theta, ct).ConfigureAwait(false))
                        {
                            call.Write(y);
                        }

                        break;
                    }

                case "gradient":
                    {
                        var gradientKind = result.GetValue(kind) switch
                        {
                            "x" => GradientKind.LogDensityWrtX,
                            "theta" => GradientKind.LogDensityWrtTheta,
                            "vjp" => GradientKind.EvaluateVjp,
                            "jvp" => GradientKind.EvaluateJvp,
                            var k => throw new MaasException(MaasErrorCode.InvalidArgument, $"unknown gradient kind '{k}'; use x, theta, vjp or jvp."),
                        };
                        var (x, theta, v) = await call.ReadPointsAsync().ConfigureAwait(false);
                        using (x)
                        using (v)
                        using (var g = await remote.GradientAsync(gradientKind, x, v, theta, ct).ConfigureAwait(false))
                        {
                            call.Write(g);
                        }

                        break;
                    }

                case "sample":
                    {
                        long n = result.GetValue(count);
                        if (n < 0)
                        {
                            throw new MaasException(MaasErrorCode.InvalidArgument, "sample needs --count N.");
                        }

                        using var draws = await remote.SampleMatrixAsync(n, result.GetValue(seed), cancellationToken: ct).ConfigureAwait(false);
                        call.Write(draws);
                        break;
                    }

                case "datasets":
                    {
                        var datasets = await remote.ListDatasetsAsync(ct).ConfigureAwait(false);
                        PrintJson(w => MaasJson.WriteResponse(w, Operation.ListData, new MaasResponse { Datasets = datasets }));
                        break;
                    }

                case "data":
                    {
                        string name = result.GetValue(dataset) ?? throw new MaasException(MaasErrorCode.InvalidArgument, "data needs --dataset NAME.");
                        using var rows = await remote.ReadDatasetMatrixAsync(name, result.GetValue(offset), result.GetValue(count), ct).ConfigureAwait(false);
                        call.Write(rows);
                        break;
                    }

                case "parameters":
                    {
                        var parameters = await remote.GetParametersAsync(ct).ConfigureAwait(false);
                        PrintJson(w => MaasJson.WriteResponse(w, Operation.GetParameters, new MaasResponse { Parameters = parameters }));
                        break;
                    }

                case "update-parameters":
                    {
                        using var document = await call.ReadJsonAsync().ConfigureAwait(false);
                        if (document.RootElement.ValueKind != JsonValueKind.Object)
                        {
                            throw new MaasException(MaasErrorCode.InvalidArgument, "update-parameters reads an object of name → values, e.g. {\"mu\": [1.0, 2.0]}.");
                        }

                        var update = new ParameterUpdate();
                        foreach (var p in document.RootElement.EnumerateObject())
                        {
                            update.Values[p.Name] = p.Value.ValueKind == JsonValueKind.Array ? MaasJson.ReadVector(p.Value, p.Name) : [p.Value.GetDouble()];
                        }

                        var updated = await remote.UpdateParametersAsync(update, ct).ConfigureAwait(false);
                        PrintJson(w => MaasJson.WriteResponse(w, Operation.UpdateParameters, new MaasResponse { Parameters = updated }));
                        break;
                    }
            }

            return 0;
        }));
        return command;
    }

    /// <summary>Writes one JSON document to stdout (the same forms as the HTTP routes).</summary>
    internal static void PrintJson(Action<Utf8JsonWriter> write, bool indented = true)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = indented }))
        {
            write(writer);
        }

        Console.WriteLine(Encoding.UTF8.GetString(stream.ToArray()));
    }

    /// <summary>Reading input and writing output of one call.</summary>
    private sealed class Invocation(IModel model, bool csv, string? input, CancellationToken cancellationToken)
    {
        public async Task<(DoubleMatrix X, double[]? Theta, DoubleMatrix? V)> ReadPointsAsync()
        {
            if (csv)
            {
                return (MatrixText.ParseCsv(await ReadTextAsync().ConfigureAwait(false)), null, null);
            }

            using var document = await ReadJsonAsync().ConfigureAwait(false);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Array)
            {
                return (MatrixText.ParseJsonRows(root, "x"), null, null);
            }

            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("x", out var x))
            {
                throw new MaasException(MaasErrorCode.InvalidArgument, "the input needs \"x\": an object like {\"x\": [[0.5], [1.0]]} or just the rows [[0.5], [1.0]].");
            }

            double[]? theta = root.TryGetProperty("theta", out var t) ? MaasJson.ReadVector(t, "theta") : null;
            DoubleMatrix? v = root.TryGetProperty("v", out var vector) ? MatrixText.ParseJsonRows(vector, "v") : null;
            return (MatrixText.ParseJsonRows(x, "x"), theta, v);
        }

        public async Task<JsonDocument> ReadJsonAsync()
        {
            string text = await ReadTextAsync().ConfigureAwait(false);
            try
            {
                return JsonDocument.Parse(text);
            }
            catch (JsonException ex)
            {
                throw new MaasException(MaasErrorCode.InvalidArgument, $"the input is not valid JSON: {ex.Message}");
            }
        }

        public void Write(DoubleMatrix m)
        {
            if (csv)
            {
                Console.Write(MatrixText.ToCsv(m));
                return;
            }

            PrintJson(
                writer =>
                {
                    writer.WriteStartObject();
                    writer.WriteString("model", model.Info.Name);
                    writer.WritePropertyName("y");
                    MaasJson.WriteMatrix(writer, m);
                    writer.WriteEndObject();
                },
                indented: false);
        }

        private async Task<string> ReadTextAsync()
        {
            if (input is not null and not "-")
            {
                if (!File.Exists(input))
                {
                    throw new MaasException(MaasErrorCode.InvalidArgument, $"input file '{input}' does not exist.");
                }

                return await File.ReadAllTextAsync(input, cancellationToken).ConfigureAwait(false);
            }

            if (input is null && !Console.IsInputRedirected)
            {
                throw new MaasException(MaasErrorCode.InvalidArgument, "no input: pass --input FILE or pipe it on stdin.");
            }

            string text = await Console.In.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
            if (string.IsNullOrWhiteSpace(text))
            {
                throw new MaasException(MaasErrorCode.InvalidArgument, csv
                    ? "stdin was empty: pipe rows of x as CSV (e.g. printf '0.5\\n1.0\\n') or pass --input FILE."
                    : "stdin was empty: pipe JSON such as [[0.5], [1.0]] or {\"x\": [[0.5], [1.0]]}, or pass --input FILE.");
            }

            return text;
        }
    }
}
