namespace Demos.Maas;

/// <summary>
/// Shape and value checks shared by the builder-made models and the server, so every path reports
/// a wrong dimension with the same InvalidArgument message.
/// </summary>
internal static class ModelArguments
{
    /// <summary>Throws InvalidArgument unless <paramref name="x"/> has <paramref name="columns"/> columns.</summary>
    public static void CheckColumns(ModelInfo info, string operation, string argument, DoubleMatrix? x, int columns)
    {
        ArgumentNullException.ThrowIfNull(info);
        if (x is null)
        {
            throw MaasException.InvalidArgument($"{info.Name}.{operation}: '{argument}' is required.");
        }

        if (x.Columns != columns)
        {
            throw MaasException.InvalidArgument($"{info.Name}.{operation}: '{argument}' has {x.Columns} columns; the model expects {columns}.");
        }
    }

    /// <summary>Throws InvalidArgument unless theta is empty or has the model's parameter count.</summary>
    public static void CheckTheta(ModelInfo info, ReadOnlySpan<double> theta)
    {
        ArgumentNullException.ThrowIfNull(info);
        if (!theta.IsEmpty && theta.Length != info.ParameterCount)
        {
            throw MaasException.InvalidArgument($"{info.Name}: theta has {theta.Length} values; the model has {info.ParameterCount} parameter values.");
        }
    }

    /// <summary>Validates a full request against a model's info (used by the server before calling any model).</summary>
    public static void CheckGradient(ModelInfo info, GradientKind kind, DoubleMatrix x, DoubleMatrix? vector)
    {
        ArgumentNullException.ThrowIfNull(info);
        ArgumentNullException.ThrowIfNull(x);
        switch (kind)
        {
            case GradientKind.LogDensityWrtX:
            case GradientKind.LogDensityWrtTheta:
                CheckColumns(info, "Gradient", "x", x, info.InputDimension);
                break;
            case GradientKind.EvaluateVjp:
                CheckColumns(info, "Gradient", "x", x, info.InputDimension);
                CheckColumns(info, "Gradient", "v", vector, info.OutputDimension);
                CheckRows(info, x, vector!);
                break;
            case GradientKind.EvaluateJvp:
                CheckColumns(info, "Gradient", "x", x, info.InputDimension);
                CheckColumns(info, "Gradient", "v", vector, info.InputDimension);
                CheckRows(info, x, vector!);
                break;
            default:
                throw MaasException.InvalidArgument($"{info.Name}.Gradient: unknown gradient kind {(int)kind}.");
        }
    }

    /// <summary>Result columns of a gradient of the given kind.</summary>
    public static int GradientColumns(ModelInfo info, GradientKind kind)
    {
        ArgumentNullException.ThrowIfNull(info);
        return kind switch
        {
            GradientKind.LogDensityWrtX => info.InputDimension,
            GradientKind.LogDensityWrtTheta => info.ParameterCount,
            GradientKind.EvaluateVjp => info.InputDimension,
            GradientKind.EvaluateJvp => info.OutputDimension,
            _ => throw MaasException.InvalidArgument($"{info.Name}.Gradient: unknown gradient kind {(int)kind}."),
        };
    }

    /// <summary>The capability a gradient kind needs.</summary>
    public static ModelCapabilities GradientCapability(GradientKind kind) => kind switch
    {
        GradientKind.LogDensityWrtX => ModelCapabilities.GradientX,
        GradientKind.LogDensityWrtTheta => ModelCapabilities.GradientTheta,
        GradientKind.EvaluateVjp => ModelCapabilities.EvaluateVjp,
        GradientKind.EvaluateJvp => ModelCapabilities.EvaluateJvp,
        _ => ModelCapabilities.None,
    };

    private static void CheckRows(ModelInfo info, DoubleMatrix x, DoubleMatrix vector)
    {
        if (vector.Rows != x.Rows)
        {
            throw MaasException.InvalidArgument($"{info.Name}.Gradient: 'v' has {vector.Rows} rows; 'x' has {x.Rows}.");
        }
    }
}
