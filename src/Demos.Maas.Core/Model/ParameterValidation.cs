namespace Demos.Maas;

/// <summary>Checks new parameter values against a parameter's size, finiteness and bounds.</summary>
internal static class ParameterValidation
{
    /// <summary>Throws InvalidArgument when <paramref name="values"/> do not fit <paramref name="parameter"/>.</summary>
    public static void Check(string model, ParameterInfo parameter, IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count != parameter.Size)
        {
            throw MaasException.InvalidArgument($"{model}: parameter '{parameter.Name}' has {parameter.Size} values; the update has {values.Count}.");
        }

        for (int i = 0; i < values.Count; i++)
        {
            double v = values[i];
            if (double.IsNaN(v))
            {
                throw MaasException.InvalidArgument($"{model}: parameter '{parameter.Name}'[{i}] is NaN.");
            }

            if (parameter.Lower is { } lower && v < lower[i])
            {
                throw MaasException.InvalidArgument($"{model}: parameter '{parameter.Name}'[{i}] = {v} is below its lower bound {lower[i]}.");
            }

            if (parameter.Upper is { } upper && v > upper[i])
            {
                throw MaasException.InvalidArgument($"{model}: parameter '{parameter.Name}'[{i}] = {v} is above its upper bound {upper[i]}.");
            }
        }
    }
}
