using System.Numerics;

namespace Demos.Maas.Models;

/// <summary>
/// 3 × 3 complex matrices stored row-major in a <see cref="Complex"/> span of nine: just the
/// operations the oscillation amplitudes need (product, adjoint, exponential with its derivatives).
/// </summary>
internal static class ComplexMatrix3
{
    public const int Size = 9;

    public static void Identity(Span<Complex> m)
    {
        m.Clear();
        m[0] = m[4] = m[8] = Complex.One;
    }

    /// <summary>c = a b (c must not alias a or b).</summary>
    public static void Multiply(ReadOnlySpan<Complex> a, ReadOnlySpan<Complex> b, Span<Complex> c)
    {
        for (int i = 0; i < 3; i++)
        {
            for (int j = 0; j < 3; j++)
            {
                c[(3 * i) + j] = (a[3 * i] * b[j]) + (a[(3 * i) + 1] * b[3 + j]) + (a[(3 * i) + 2] * b[6 + j]);
            }
        }
    }

    /// <summary>c = a b†.</summary>
    public static void MultiplyAdjoint(ReadOnlySpan<Complex> a, ReadOnlySpan<Complex> b, Span<Complex> c)
    {
        for (int i = 0; i < 3; i++)
        {
            for (int j = 0; j < 3; j++)
            {
                c[(3 * i) + j] = (a[3 * i] * Complex.Conjugate(b[3 * j])) + (a[(3 * i) + 1] * Complex.Conjugate(b[(3 * j) + 1])) + (a[(3 * i) + 2] * Complex.Conjugate(b[(3 * j) + 2]));
            }
        }
    }

    /// <summary>Largest absolute row sum (the infinity norm).</summary>
    public static double Norm(ReadOnlySpan<Complex> m)
    {
        double max = 0;
        for (int i = 0; i < 3; i++)
        {
            max = Math.Max(max, Complex.Abs(m[3 * i]) + Complex.Abs(m[(3 * i) + 1]) + Complex.Abs(m[(3 * i) + 2]));
        }

        return max;
    }

    /// <summary>
    /// exp(x) and its derivatives along the directions e_k, i.e. the Fréchet derivatives
    /// L(x, e_k), by scaling and squaring a Taylor series in Horner form. The derivative rides
    /// along exactly: a pair (A, dA) multiplies like the block matrix [[A, dA], [0, A]], whose
    /// exponential holds exp(x) and L(x, e) (Higham, Functions of Matrices, SIAM 2008, §10.6).
    /// </summary>
    /// <param name="x">The matrix (overwritten: scaled).</param>
    /// <param name="directions">directions.Length / 9 directions (overwritten: scaled).</param>
    /// <param name="result">exp(x).</param>
    /// <param name="derivatives">One 9-block per direction.</param>
    public static void Exponential(Span<Complex> x, Span<Complex> directions, Span<Complex> result, Span<Complex> derivatives)
    {
        int count = directions.Length / Size;
        double norm = ComplexMatrix3.Norm(x);
        // Scaled to norm ≤ 1, where the order-18 Taylor remainder is below 1/19! ≈ 8e-18: each
        // squaring doubles the rounding error (for a unitary exp(x), its distance from unitarity),
        // so the fewer squarings the better, and a smaller target norm would only add squarings.
        int squarings = norm > 1 ? (int)Math.Ceiling(Math.Log2(norm)) : 0;
        double scale = Math.ScaleB(1.0, -squarings);
        for (int i = 0; i < x.Length; i++) { x[i] *= scale; }
        for (int i = 0; i < directions.Length; i++) { directions[i] *= scale; }

        // Horner: R_n = I + x R_{n+1} / n, dR_n = (e R_{n+1} + x dR_{n+1}) / n, from R_N = I, dR_N = 0.
        Span<Complex> r = stackalloc Complex[Size];
        Span<Complex> product = stackalloc Complex[Size];
        Span<Complex> second = stackalloc Complex[Size];
        Identity(r);
        derivatives.Clear();
        const int Order = 18;
        for (int n = Order; n >= 1; n--)
        {
            for (int k = 0; k < count; k++)
            {
                var dk = derivatives.Slice(k * Size, Size);
                Multiply(directions.Slice(k * Size, Size), r, product);
                Multiply(x, dk, second);
                for (int i = 0; i < Size; i++) { dk[i] = (product[i] + second[i]) / n; }
            }

            Multiply(x, r, product);
            for (int i = 0; i < Size; i++) { r[i] = product[i] / n; }
            r[0] += 1; r[4] += 1; r[8] += 1;
        }

        // (A, dA)^2 = (A A, A dA + dA A).
        for (int s = 0; s < squarings; s++)
        {
            for (int k = 0; k < count; k++)
            {
                var dk = derivatives.Slice(k * Size, Size);
                Multiply(r, dk, product);
                Multiply(dk, r, second);
                for (int i = 0; i < Size; i++) { dk[i] = product[i] + second[i]; }
            }

            Multiply(r, r, product);
            product.CopyTo(r);
        }

        r.CopyTo(result);
    }
}
