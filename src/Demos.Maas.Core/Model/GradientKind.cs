namespace Demos.Maas;

/// <summary>Which derivative a gradient call asks for. The numbers are on the wire.</summary>
public enum GradientKind
{
    /// <summary>d log p(x_i | theta) / d x_i: result is n × d.</summary>
    LogDensityWrtX = 1,

    /// <summary>d log p(x_i | theta) / d theta per point: result is n × p (p = parameter count).</summary>
    LogDensityWrtTheta = 2,

    /// <summary>v_i^T dF(x_i)/dx: vector n × outputDim, result n × inputDim.</summary>
    EvaluateVjp = 3,

    /// <summary>dF(x_i)/dx v_i: vector n × inputDim, result n × outputDim.</summary>
    EvaluateJvp = 4,
}
