namespace Demos.Maas;

/// <summary>What a model can do. Sent as a bit set in the model's info.</summary>
[Flags]
public enum ModelCapabilities
{
    /// <summary>Nothing beyond info.</summary>
    None = 0,

    /// <summary>Forward map y = F(theta; x).</summary>
    Evaluate = 1 << 0,

    /// <summary>log p(x | theta) for a batch of points.</summary>
    LogDensity = 1 << 1,

    /// <summary>Seeded, streamed draws from p(. | theta).</summary>
    Sample = 1 << 2,

    /// <summary>d log p / d x.</summary>
    GradientX = 1 << 3,

    /// <summary>d log p / d theta, per point.</summary>
    GradientTheta = 1 << 4,

    /// <summary>Vector-Jacobian product of Evaluate: v^T dF/dx.</summary>
    EvaluateVjp = 1 << 5,

    /// <summary>Jacobian-vector product of Evaluate: dF/dx v.</summary>
    EvaluateJvp = 1 << 6,

    /// <summary>Named pre-computed datasets.</summary>
    Data = 1 << 7,

    /// <summary>Server-side parameters that can be read and updated.</summary>
    Parameters = 1 << 8,
}
