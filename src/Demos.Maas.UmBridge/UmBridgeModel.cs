using System.Buffers;
using System.Net.Http.Headers;
using System.Text.Json;

using Demos.Maas.Protocol;
using Demos.Maas.Transports.Http;

namespace Demos.Maas.UmBridge;

/// <summary>
/// A model on any UM-Bridge 1.0 server, as an <see cref="IModel"/>. Address:
/// <c>umbridge+http://host:port/modelname</c>. The UM-Bridge inputs are concatenated into one point
/// (<c>input_dim</c> = sum of InputSizes) and the outputs into one result row (<c>output_dim</c> =
/// sum of OutputSizes); each row of x is one UM-Bridge call. Evaluate → <c>/Evaluate</c>;
/// Gradient <see cref="GradientKind.EvaluateVjp"/> → <c>/Gradient</c> (sens = v, summed over the
/// output blocks); <see cref="GradientKind.EvaluateJvp"/> → <c>/ApplyJacobian</c>;
/// <see cref="ApplyHessianAsync"/> → <c>/ApplyHessian</c>. UM-Bridge has no server-side parameters:
/// theta must be empty; a <see cref="Config"/> object is sent with every call.
/// </summary>
public sealed class UmBridgeModel : ModelBase
{
    /// <summary>The URI scheme.</summary>
    public const string Scheme = "umbridge+http";

    private static readonly MediaTypeHeaderValue Json = new("application/json");
    private readonly HttpClient _client;
    private readonly Uri _base;
    private readonly int[] _inputSizes;
    private readonly int[] _outputSizes;
    private readonly string _config;

    private UmBridgeModel(HttpClient client, Uri baseUri, string name, string config, int[] inputSizes, int[] outputSizes, ModelInfo info, bool hessian)
    {
        _client = client;
        _base = baseUri;
        Name = name;
        _config = config;
        _inputSizes = inputSizes;
        _outputSizes = outputSizes;
        Info = info;
        SupportsApplyHessian = hessian;
    }

    /// <inheritdoc/>
    public override ModelInfo Info { get; }

    /// <summary>The model's name on the UM-Bridge server.</summary>
    public string Name { get; }

    /// <summary>The config object sent with every call (JSON text).</summary>
    public string Config => _config;

    /// <summary>Sizes of the UM-Bridge input vectors (their concatenation is a point).</summary>
    public IReadOnlyList<int> InputSizes => _inputSizes;

    /// <summary>Sizes of the UM-Bridge output vectors (their concatenation is a result row).</summary>
    public IReadOnlyList<int> OutputSizes => _outputSizes;

    /// <summary>True when the server supports ApplyHessian for this model.</summary>
    public bool SupportsApplyHessian { get; }

    /// <summary>Connects to <c>umbridge+http://host:port/modelname</c> and reads the model's sizes and support.</summary>
    /// <param name="uri">The model's address.</param>
    /// <param name="config">A JSON object sent as <c>config</c> (default <c>{}</c>).</param>
    /// <param name="transport">Supplies the pooled HttpClient (a private one when null).</param>
    /// <param name="cancellationToken">Cancels the handshake.</param>
    public static async Task<UmBridgeModel> ConnectAsync(Uri uri, string? config = null, HttpTransport? transport = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(uri);
        if (!string.Equals(uri.Scheme, Scheme, StringComparison.OrdinalIgnoreCase))
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"'{uri}' is not a {Scheme}://host:port/modelname address.");
        }

        var segments = uri.AbsolutePath.Trim('/').Split('/');
        string name = Uri.UnescapeDataString(segments[^1]);
        if (name.Length == 0)
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"'{uri}' names no model; use {Scheme}://host:port/modelname.");
        }

        config ??= "{}";
        using (var check = JsonDocument.Parse(config))
        {
            if (check.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new MaasException(MaasErrorCode.InvalidArgument, "The UM-Bridge config must be a JSON object.");
            }
        }

        transport ??= SharedTransport;
        var serverUri = new UriBuilder("http", uri.Host, uri.Port, string.Join('/', segments[..^1]) + "/").Uri;
        var (client, baseUri) = transport.ClientFor(serverUri);
        using (var info = await SendAsync(client, HttpMethod.Get, new Uri(baseUri, "Info"), null, cancellationToken).ConfigureAwait(false))
        {
            var root = info.RootElement;
            if (!root.TryGetProperty("protocolVersion", out var version) || version.ValueKind != JsonValueKind.Number || version.GetDouble() != 1.0)
            {
                throw new MaasException(MaasErrorCode.VersionMismatch, $"{serverUri} speaks UM-Bridge protocol {(root.TryGetProperty("protocolVersion", out var v) ? v.ToString() : "?")}; this client speaks 1.0.");
            }

            var models = root.TryGetProperty("models", out var m) && m.ValueKind == JsonValueKind.Array ? m.EnumerateArray().Select(e => e.GetString()).ToList() : [];
            if (!models.Contains(name))
            {
                throw new MaasException(MaasErrorCode.NotFound, $"{serverUri} has no UM-Bridge model '{name}' (it has: {string.Join(", ", models)}).");
            }
        }

        byte[] NameAndConfig() => Body(w => { w.WriteString("name", name); w.WritePropertyName("config"); w.WriteRawValue(config); });
        bool evaluate, gradient, jacobian, hessian;
        using (var support = await SendAsync(client, HttpMethod.Post, new Uri(baseUri, "ModelInfo"), Body(w => w.WriteString("name", name)), cancellationToken).ConfigureAwait(false))
        {
            var s = support.RootElement.GetProperty("support");
            bool Has(string key) => s.TryGetProperty(key, out var e) && e.ValueKind == JsonValueKind.True;
            (evaluate, gradient, jacobian, hessian) = (Has("Evaluate"), Has("Gradient"), Has("ApplyJacobian"), Has("ApplyHessian"));
        }

        int[] inputs, outputs;
        using (var sizes = await SendAsync(client, HttpMethod.Post, new Uri(baseUri, "InputSizes"), NameAndConfig(), cancellationToken).ConfigureAwait(false))
        {
            inputs = [.. sizes.RootElement.GetProperty("inputSizes").EnumerateArray().Select(e => e.GetInt32())];
        }

        using (var sizes = await SendAsync(client, HttpMethod.Post, new Uri(baseUri, "OutputSizes"), NameAndConfig(), cancellationToken).ConfigureAwait(false))
        {
            outputs = [.. sizes.RootElement.GetProperty("outputSizes").EnumerateArray().Select(e => e.GetInt32())];
        }

        var caps = (evaluate ? ModelCapabilities.Evaluate : 0) | (gradient ? ModelCapabilities.EvaluateVjp : 0) | (jacobian ? ModelCapabilities.EvaluateJvp : 0);
        var modelInfo = new ModelInfo
        {
            Name = name,
            Uuid = ModelBuilder.NameBasedUuid(name),
            Description = $"UM-Bridge model '{name}' at {serverUri}",
            Capabilities = caps,
            InputDimension = inputs.Sum(),
            OutputDimension = outputs.Sum(),
        };
        return new UmBridgeModel(client, baseUri, name, config, inputs, outputs, modelInfo, hessian);
    }

    private static HttpTransport SharedTransport { get; } = new();

    /// <inheritdoc/>
    public override async ValueTask<DoubleMatrix> EvaluateAsync(DoubleMatrix x, ReadOnlyMemory<double> theta = default, CancellationToken cancellationToken = default)
    {
        Check(x, theta, ModelCapabilities.Evaluate, "Evaluate");
        var y = DoubleMatrix.Rent(x.Rows, Info.OutputDimension);
        try
        {
            for (int r = 0; r < x.Rows; r++)
            {
                var point = x.Row(r).ToArray();
                using var result = await PostAsync("Evaluate", w => WriteInput(w, point), cancellationToken).ConfigureAwait(false);
                var output = result.RootElement.GetProperty("output");
                var row = y.Row(r);
                int at = 0;
                int block = 0;
                foreach (var vector in output.EnumerateArray())
                {
                    var values = MaasJson.ReadVector(vector, "output");
                    if (block >= _outputSizes.Length || values.Length != _outputSizes[block])
                    {
                        throw new MaasException(MaasErrorCode.ModelError, $"UM-Bridge model '{Name}' returned output vectors that do not match its OutputSizes [{string.Join(", ", _outputSizes)}].");
                    }

                    values.CopyTo(row[at..]);
                    at += values.Length;
                    block++;
                }

                if (block != _outputSizes.Length)
                {
                    throw new MaasException(MaasErrorCode.ModelError, $"UM-Bridge model '{Name}' returned {block} output vectors; it declares {_outputSizes.Length}.");
                }
            }

            return y;
        }
        catch
        {
            y.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public override async ValueTask<DoubleMatrix> GradientAsync(GradientKind kind, DoubleMatrix x, DoubleMatrix? vector = null, ReadOnlyMemory<double> theta = default, CancellationToken cancellationToken = default)
    {
        bool vjp = kind == GradientKind.EvaluateVjp;
        if (!vjp && kind != GradientKind.EvaluateJvp)
        {
            throw new MaasException(MaasErrorCode.Unsupported, $"UM-Bridge model '{Name}' has no log-density; only EvaluateVjp (Gradient) and EvaluateJvp (ApplyJacobian) exist.");
        }

        Check(x, theta, vjp ? ModelCapabilities.EvaluateVjp : ModelCapabilities.EvaluateJvp, vjp ? "Gradient" : "ApplyJacobian");
        int vColumns = vjp ? Info.OutputDimension : Info.InputDimension;
        if (vector is null || vector.Rows != x.Rows || vector.Columns != vColumns)
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"{Name}: v must be {x.Rows}×{vColumns}.");
        }

        var result = DoubleMatrix.Zeros(x.Rows, vjp ? Info.InputDimension : Info.OutputDimension);
        try
        {
            for (int r = 0; r < x.Rows; r++)
            {
                var point = x.Row(r).ToArray();
                var v = vector.Row(r).ToArray();
                int outAt = 0;
                for (int outWrt = 0; outWrt < _outputSizes.Length; outWrt++)
                {
                    int inAt = 0;
                    for (int inWrt = 0; inWrt < _inputSizes.Length; inWrt++)
                    {
                        int o = outWrt, i = inWrt, oa = outAt, ia = inAt;
                        using var answer = await PostAsync(vjp ? "Gradient" : "ApplyJacobian", w =>
                        {
                            w.WriteNumber("outWrt", o);
                            w.WriteNumber("inWrt", i);
                            WriteInput(w, point);
                            w.WritePropertyName(vjp ? "sens" : "vec");
                            MaasJson.WriteVector(w, vjp ? v.AsSpan(oa, _outputSizes[o]) : v.AsSpan(ia, _inputSizes[i]));
                        }, cancellationToken).ConfigureAwait(false);
                        var values = MaasJson.ReadVector(answer.RootElement.GetProperty("output"), "output");
                        int expected = vjp ? _inputSizes[i] : _outputSizes[o];
                        if (values.Length != expected)
                        {
                            throw new MaasException(MaasErrorCode.ModelError, $"UM-Bridge model '{Name}' returned {values.Length} values from {(vjp ? "Gradient" : "ApplyJacobian")}; expected {expected}.");
                        }

                        var slice = result.Row(r).Slice(vjp ? ia : oa, expected);
                        for (int k = 0; k < expected; k++)
                        {
                            slice[k] += values[k];
                        }

                        inAt += _inputSizes[inWrt];
                    }

                    outAt += _outputSizes[outWrt];
                }
            }

            return result;
        }
        catch
        {
            result.Dispose();
            throw;
        }
    }

    /// <summary>UM-Bridge ApplyHessian for one point: the action of the Hessian of sens·output[outWrt] w.r.t. inputs inWrt1, inWrt2 on vec.</summary>
    public async Task<double[]> ApplyHessianAsync(int outWrt, int inWrt1, int inWrt2, double[] point, double[] sens, double[] vec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(point);
        ArgumentNullException.ThrowIfNull(sens);
        ArgumentNullException.ThrowIfNull(vec);
        if (!SupportsApplyHessian)
        {
            throw new MaasException(MaasErrorCode.Unsupported, $"UM-Bridge model '{Name}' does not support ApplyHessian.");
        }

        using var answer = await PostAsync("ApplyHessian", w =>
        {
            w.WriteNumber("outWrt", outWrt);
            w.WriteNumber("inWrt1", inWrt1);
            w.WriteNumber("inWrt2", inWrt2);
            WriteInput(w, point);
            w.WritePropertyName("sens");
            MaasJson.WriteVector(w, sens);
            w.WritePropertyName("vec");
            MaasJson.WriteVector(w, vec);
        }, cancellationToken).ConfigureAwait(false);
        return MaasJson.ReadVector(answer.RootElement.GetProperty("output"), "output");
    }

    private void Check(DoubleMatrix x, ReadOnlyMemory<double> theta, ModelCapabilities capability, string operation)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (!Info.Has(capability))
        {
            throw new MaasException(MaasErrorCode.Unsupported, $"UM-Bridge model '{Name}' does not support {operation}.");
        }

        if (!theta.IsEmpty)
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"UM-Bridge model '{Name}' has no parameters; theta must be empty (pass settings in the config).");
        }

        if (x.Columns != Info.InputDimension)
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"{Name}: x has {x.Columns} columns; the model's inputs have {Info.InputDimension} values in all.");
        }
    }

    private void WriteInput(Utf8JsonWriter w, double[] point)
    {
        w.WriteStartArray("input");
        int at = 0;
        foreach (int size in _inputSizes)
        {
            MaasJson.WriteVector(w, point.AsSpan(at, size));
            at += size;
        }

        w.WriteEndArray();
        w.WritePropertyName("config");
        w.WriteRawValue(_config, skipInputValidation: true);
    }

    private Task<JsonDocument> PostAsync(string route, Action<Utf8JsonWriter> write, CancellationToken cancellationToken) =>
        SendAsync(_client, HttpMethod.Post, new Uri(_base, route), Body(w => { w.WriteString("name", Name); write(w); }), cancellationToken);

    private static byte[] Body(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            write(w);
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static async Task<JsonDocument> SendAsync(HttpClient client, HttpMethod method, Uri uri, byte[]? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, uri);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = Json;
        }

        HttpResponseMessage response;
        try
        {
            response = await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw new MaasException(MaasErrorCode.Unavailable, $"Cannot reach the UM-Bridge server at {uri.GetLeftPart(UriPartial.Authority)}: {ex.Message}", ex);
        }

        using (response)
        {
            var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            JsonDocument? document = null;
            try
            {
                document = JsonDocument.Parse(bytes);
            }
            catch (JsonException) when (!response.IsSuccessStatusCode)
            {
                // Not JSON (a proxy's page): reported by status below.
            }
            catch (JsonException ex)
            {
                throw new MaasException(MaasErrorCode.ModelError, $"The UM-Bridge server answered {uri.AbsolutePath} with malformed JSON: {ex.Message}");
            }

            if (document is not null && document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("error", out var error))
            {
                using (document)
                {
                    string type = error.TryGetProperty("type", out var t) ? t.GetString() ?? "" : "";
                    string message = error.TryGetProperty("message", out var m) ? m.GetString() ?? "" : "";
                    var code = type switch
                    {
                        "InvalidInput" => MaasErrorCode.InvalidArgument,
                        "ModelNotFound" => MaasErrorCode.NotFound,
                        "UnsupportedFeature" => MaasErrorCode.Unsupported,
                        "InvalidOutput" => MaasErrorCode.ModelError,
                        _ => HttpStatusMapping.FromStatus((int)response.StatusCode),
                    };
                    throw new MaasException(code, $"UM-Bridge {type}: {message}", new Dictionary<string, string> { ["umbridge_type"] = type });
                }
            }

            if (!response.IsSuccessStatusCode || document is null)
            {
                document?.Dispose();
                throw new MaasException(HttpStatusMapping.FromStatus((int)response.StatusCode), $"The UM-Bridge server answered {uri.AbsolutePath} with HTTP {(int)response.StatusCode}.");
            }

            return document;
        }
    }
}
