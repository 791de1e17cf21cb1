using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using Demos.Maas;
using Demos.Maas.Models;

// gaussian1d's log-density of 65,536 points in one process, against two baselines in the same run:
// the loop the model had before (a span slice per vector) and a copy of the points. Three rounds of
// 2,000 calls each; prints the mean per call in microseconds.
//   dotnet run -c Release --project benchmarks/Demos.Maas.GaussianLoop
const int Points = 65_536;
const int Calls = 2_000;
var model = GaussianModel.Create(1);
using var x = DoubleMatrix.FromColumn([.. Enumerable.Range(0, Points).Select(i => i * 1e-4)]);
var output = new double[Points];
double norm = -0.5 * Math.Log(2 * Math.PI);
for (int round = 0; round < 3; round++)
{
    double sliced = Time(() => SlicedLoop(x.Span, 0.0, 1.0, norm, output));
    double current = Time(() => model.LogDensityAsync(x).AsTask().GetAwaiter().GetResult().Dispose());
    double copy = Time(() => x.Span.CopyTo(output));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"round {round + 1}: model {current:0.0} us, slice-per-vector loop {sliced:0.0} us, copy of the points {copy:0.0} us"));
}

static double Time(Action call)
{
    for (int i = 0; i < Calls / 10; i++)
    {
        call();
    }

    var clock = Stopwatch.StartNew();
    for (int i = 0; i < Calls; i++)
    {
        call();
    }

    return clock.Elapsed.TotalMicroseconds / Calls;
}

// The model's loop before: a vector built from a slice of the points, its result copied into a slice of the output.
static void SlicedLoop(ReadOnlySpan<double> x, double mu, double inverse, double norm, Span<double> result)
{
    var vmu = new Vector<double>(mu);
    var vinverse = new Vector<double>(inverse);
    var vnorm = new Vector<double>(norm);
    var half = new Vector<double>(0.5);
    int i = 0;
    for (; i <= x.Length - Vector<double>.Count; i += Vector<double>.Count)
    {
        var z = (new Vector<double>(x[i..]) - vmu) * vinverse;
        (vnorm - (half * z * z)).CopyTo(result[i..]);
    }

    for (; i < x.Length; i++)
    {
        double z = (x[i] - mu) * inverse;
        result[i] = norm - (0.5 * z * z);
    }
}
