using System.Text;

namespace Demos.Maas;

/// <summary>
/// Builds an <see cref="IModel"/> from the functions a model has, and nothing else: the C# twin of
/// the C ABI's <c>register_density</c> / <c>register_sampler</c>. Capabilities follow from what
/// was registered.
/// </summary>
/// <example>
/// <code>
/// var model = ModelBuilder.Create("gauss1d")
///     .WithInputDimension(1)
///     .WithScalarParameter("mu", 0.0)
///     .WithLogDensity((x, theta) => -0.5 * (x[0] - theta[0]) * (x[0] - theta[0]))
///     .Build();
/// </code>
/// </example>
public sealed class ModelBuilder
{
    internal string Name { get; }
    internal Guid? Uuid { get; private set; }
    internal string Version { get; private set; } = "1.0.0";
    internal string? Description { get; private set; }
    internal string? Doi { get; private set; }
    internal List<string> Authors { get; } = [];
    internal int InputDimension { get; private set; } = -1;
    internal int OutputDimension { get; private set; }
    internal List<ParameterInfo> Parameters { get; } = [];
    internal BatchFunction? Evaluate { get; private set; }
    internal BatchFunction? LogDensity { get; private set; }
    internal BatchFunction? GradientX { get; private set; }
    internal BatchFunction? GradientTheta { get; private set; }
    internal BatchFunction? Vjp { get; private set; }
    internal BatchFunction? Jvp { get; private set; }
    internal SamplerFunction? Sampler { get; private set; }
    internal List<(DatasetInfo Info, DoubleMatrix Data)> Datasets { get; } = [];
    internal bool IsSerial { get; private set; }
    internal bool ParametersWritable { get; private set; } = true;

    private ModelBuilder(string name) => Name = name;

    /// <summary>Starts a model with a name (unique on a server).</summary>
    public static ModelBuilder Create(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return new ModelBuilder(name);
    }

    /// <summary>Namespace of the name-based uuids models get when they set none (RFC 9562 version 5).</summary>
    public static readonly Guid UuidNamespace = new("4a8f0c1e-9b7d-4e3a-8c5f-1d2e3f405162");

    /// <summary>Sets the persistent uuid. Without one, <see cref="NameBasedUuid"/> of the name is used.</summary>
    public ModelBuilder WithUuid(Guid uuid) { Uuid = uuid; return this; }

    /// <summary>Sets the model version.</summary>
    public ModelBuilder WithVersion(string version) { Version = version; return this; }

    /// <summary>Sets a description.</summary>
    public ModelBuilder WithDescription(string description) { Description = description; return this; }

    /// <summary>Sets the DOI.</summary>
    public ModelBuilder WithDoi(string doi) { Doi = doi; return this; }

    /// <summary>Adds authors.</summary>
    public ModelBuilder WithAuthors(params string[] authors) { Authors.AddRange(authors); return this; }

    /// <summary>Sets d, the number of values per point x.</summary>
    public ModelBuilder WithInputDimension(int dimension)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(dimension);
        InputDimension = dimension;
        return this;
    }

    /// <summary>Adds a vector parameter (shape [length of <paramref name="defaultValue"/>]).</summary>
    public ModelBuilder WithParameter(string name, double[] defaultValue, double[]? lower = null, double[]? upper = null, string? description = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(defaultValue);
        if (Parameters.Exists(p => p.Name == name))
        {
            throw new ArgumentException($"Parameter '{name}' is already defined.", nameof(name));
        }

        if ((lower is not null && lower.Length != defaultValue.Length) || (upper is not null && upper.Length != defaultValue.Length))
        {
            throw new ArgumentException($"Bounds of '{name}' must have {defaultValue.Length} values.", nameof(name));
        }

        Parameters.Add(new ParameterInfo
        {
            Name = name,
            Shape = [defaultValue.Length],
            Default = [.. defaultValue],
            Lower = lower is null ? null : [.. lower],
            Upper = upper is null ? null : [.. upper],
            Description = description,
        });
        return this;
    }

    /// <summary>Adds a scalar parameter (shape []).</summary>
    public ModelBuilder WithScalarParameter(string name, double defaultValue, double lower = double.NegativeInfinity, double upper = double.PositiveInfinity, string? description = null)
    {
        WithParameter(name, [defaultValue], double.IsNegativeInfinity(lower) ? null : [lower], double.IsPositiveInfinity(upper) ? null : [upper], description);
        var last = Parameters[^1];
        Parameters[^1] = new ParameterInfo { Name = last.Name, Shape = [], Default = last.Default, Lower = last.Lower, Upper = last.Upper, Description = last.Description };
        return this;
    }

    /// <summary>Makes the parameters read-only: updates give Unsupported.</summary>
    public ModelBuilder WithReadOnlyParameters() { ParametersWritable = false; return this; }

    /// <summary>Registers the forward map F, with <paramref name="outputDimension"/> values per point.</summary>
    public ModelBuilder WithEvaluate(int outputDimension, BatchFunction evaluate)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(outputDimension);
        OutputDimension = outputDimension;
        Evaluate = evaluate;
        return this;
    }

    /// <summary>Registers the log-density for a batch (result: one value per row).</summary>
    public ModelBuilder WithLogDensity(BatchFunction logDensity) { LogDensity = logDensity; return this; }

    /// <summary>Registers the log-density of one point; the builder loops over the batch.</summary>
    public ModelBuilder WithLogDensity(PointFunction logDensity)
    {
        ArgumentNullException.ThrowIfNull(logDensity);
        LogDensity = (args, result) =>
        {
            for (int i = 0; i < args.Rows; i++)
            {
                result[i] = logDensity(args.Point(i), args.Theta);
            }
        };
        return this;
    }

    /// <summary>Registers d log p / d x (result: rows × d).</summary>
    public ModelBuilder WithLogDensityGradient(BatchFunction gradient) { GradientX = gradient; return this; }

    /// <summary>Registers d log p / d theta per point (result: rows × parameter count).</summary>
    public ModelBuilder WithLogDensityThetaGradient(BatchFunction gradient) { GradientTheta = gradient; return this; }

    /// <summary>Registers the vector-Jacobian product of F (vector rows × outputDim; result rows × inputDim).</summary>
    public ModelBuilder WithVjp(BatchFunction vjp) { Vjp = vjp; return this; }

    /// <summary>Registers the Jacobian-vector product of F (vector rows × inputDim; result rows × outputDim).</summary>
    public ModelBuilder WithJvp(BatchFunction jvp) { Jvp = jvp; return this; }

    /// <summary>Registers the sampler (draws of InputDimension values).</summary>
    public ModelBuilder WithSampler(SamplerFunction sampler) { Sampler = sampler; return this; }

    /// <summary>Adds a named dataset. The model keeps (and owns) the matrix.</summary>
    public ModelBuilder WithDataset(string name, DoubleMatrix data, string? description = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(data);
        Datasets.Add((new DatasetInfo { Name = name, Rows = data.Rows, Columns = data.Columns, Description = description }, data));
        return this;
    }

    /// <summary>Runs at most one call of this model at a time (for code that is not thread-safe).</summary>
    public ModelBuilder Serial() { IsSerial = true; return this; }

    /// <summary>Builds the model.</summary>
    public IModel Build()
    {
        if (InputDimension < 0)
        {
            throw new InvalidOperationException($"Model '{Name}': call WithInputDimension first.");
        }

        var caps = ModelCapabilities.None;
        if (Evaluate is not null) { caps |= ModelCapabilities.Evaluate; }
        if (LogDensity is not null) { caps |= ModelCapabilities.LogDensity; }
        if (Sampler is not null) { caps |= ModelCapabilities.Sample; }
        if (GradientX is not null) { caps |= ModelCapabilities.GradientX; }
        if (GradientTheta is not null) { caps |= ModelCapabilities.GradientTheta; }
        if (Vjp is not null) { caps |= ModelCapabilities.EvaluateVjp; }
        if (Jvp is not null) { caps |= ModelCapabilities.EvaluateJvp; }
        if (Datasets.Count > 0) { caps |= ModelCapabilities.Data; }
        if (Parameters.Count > 0) { caps |= ModelCapabilities.Parameters; }

        var info = new ModelInfo
        {
            Uuid = Uuid ?? NameBasedUuid(Name),
            Name = Name,
            Version = Version,
            Description = Description,
            Authors = [.. Authors],
            Doi = Doi,
            Capabilities = caps,
            InputDimension = InputDimension,
            OutputDimension = OutputDimension,
            Parameters = [.. Parameters],
        };
        return new FunctionModel(info, this);
    }

    /// <summary>
    /// The version-5 uuid of <paramref name="name"/> in <see cref="UuidNamespace"/>: stable across
    /// model versions and reproducible anywhere, e.g. Python's <c>uuid.uuid5(namespace, name)</c>.
    /// </summary>
    public static Guid NameBasedUuid(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        byte[] input = [.. UuidNamespace.ToByteArray(bigEndian: true), .. Encoding.UTF8.GetBytes(name)];

        // SHA-1 is what RFC 9562 prescribes for version-5 uuids; managed, so no OpenSSL is loaded.
        byte[] hash = Sha1.HashData(input);
        Span<byte> bytes = hash.AsSpan(0, 16);
        bytes[6] = (byte)((bytes[6] & 0x0F) | 0x50);
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
        return new Guid(bytes, bigEndian: true);
    }
}
