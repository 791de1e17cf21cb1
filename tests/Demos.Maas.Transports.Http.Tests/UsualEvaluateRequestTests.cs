using System.Globalization;
using System.Text;
using System.Text.Json;
using Demos.Maas.UmBridge;
using FsCheck;
using FsCheck.Fluent;

namespace Demos.Maas.Transports.Http.Tests;

/// <summary>
/// The scanner of the usual /Evaluate body must accept only what a JSON parser reads to the same
/// name and values, and must accept the usual body however it is spaced or ordered.
/// </summary>
public sealed class UsualEvaluateRequestTests
{
    private static readonly string[] Spaces = ["", " ", "\n", "\t ", "\r\n  "];

    private static readonly string[] GoodNames = ["echo", "gaussian1d", "a b", "x-1_y.z", "", "7d1d7f0e-5a5e-4f4b-9a53-1c1f0f3b2a01"];

    // Not printable ASCII without escapes: the scanner leaves them to the JSON reader.
    private static readonly string[] OtherNames = ["ech\\u006f", "\\\"q", "é", "tab\t", "ctl\u0001", "back\\\\slash"];

    private static readonly string[] BadNumbers = ["01", "1.", ".5", "+1", "-", "1e", "1e+", "--1", "0x10", "1_0", "NaN", "Infinity", "-Infinity", "3e999", "-3e999", "1.5.2", "١", "1 2", "true", "null", "\"1\"", "1e5x"];

    private static string Format(double v, int how) => how switch
    {
        0 => v.ToString("R", CultureInfo.InvariantCulture),
        1 => v.ToString("E16", CultureInfo.InvariantCulture),
        2 => v.ToString("e3", CultureInfo.InvariantCulture),
        3 => v.ToString("F2", CultureInfo.InvariantCulture),
        _ => Math.Round(v).ToString("R", CultureInfo.InvariantCulture),
    };

    // A body from the choices in c: mostly the usual shape, with spacing, order, numbers, names,
    // extra or repeated keys and trailing content varied.
    private static string Body(int[] c, double[] x, bool onlyGood)
    {
        int i = 0;
        int Next(int n) => c[i++ % c.Length] % n;
        string Ws() => Spaces[Next(Spaces.Length)];
        // Three digits of the largest doubles round past the largest: only the other forms are always finite.
        string Number(double v) => !onlyGood && Next(12) == 0 ? BadNumbers[Next(BadNumbers.Length)] : Format(v, onlyGood ? new[] { 0, 1, 3, 4 }[Next(4)] : Next(5));
        int n = 1 + Next(onlyGood ? x.Length : x.Length + 3);
        string numbers = string.Join(",", Enumerable.Range(0, Math.Min(n, x.Length)).Select(k => Ws() + Number(x[k]) + Ws()));
        if (!onlyGood && n > x.Length)
        {
            numbers = n == x.Length + 1 ? "" : numbers + "," + numbers;
        }

        string name = !onlyGood && Next(6) == 0 ? OtherNames[Next(OtherNames.Length)] : GoodNames[Next(GoodNames.Length)];
        string input = onlyGood || Next(10) > 0 ? $"[{Ws()}[{numbers}]{Ws()}]" : new[] { $"[{numbers}]", $"[[{numbers}],[1]]", $"[[{numbers}]", "{}" }[Next(4)];
        string config = onlyGood || Next(8) > 0 ? "{" + Ws() + "}" : new[] { "{\"a\": 1}", "[]", "null", "{" }[Next(4)];
        var members = new List<string> { $"\"name\"{Ws()}:{Ws()}\"{name}\"", $"\"input\"{Ws()}:{Ws()}{input}" };
        if (Next(3) > 0)
        {
            members.Add($"\"config\"{Ws()}:{Ws()}{config}");
        }

        if (!onlyGood)
        {
            switch (Next(10))
            {
                case 0: members.Add("\"extra\": 1"); break;
                case 1: members.Add(members[0]); break;
                case 2: members.RemoveAt(Next(2)); break;
                case 3: members.Add("\"NAME\": \"x\""); break;
            }
        }

        var ordered = members.OrderBy(_ => Next(97)).Select(m => Ws() + m + Ws());
        string trailing = onlyGood || Next(10) > 0 ? Ws() : new[] { "x", "}", ",", "{}" }[Next(4)];
        return Ws() + "{" + string.Join(",", ordered) + "}" + trailing;
    }

    private static Gen<(int[] Choices, double[] X)> Inputs { get; } =
        from choices in Gen.ArrayOf(Gen.Choose(0, 1_000_000), 64)
        from x in Gen.ArrayOf(Gen.OneOf(
            Gen.Choose(-400, 400).SelectMany(e => Gen.Choose(-1_000_000, 1_000_000).Select(m => m * Math.Pow(10, e / 10.0) / 7)),
            Gen.Elements(0.0, -0.0, 1e-310, 5e-324, 1.7976931348623157e308, -1.5, 0.1, 1.0 / 3)), 4)
        select (choices, x);

    [Fact]
    public void What_the_scanner_accepts_a_json_parser_reads_to_the_same_name_and_values()
    {
        var property = Prop.ForAll(Inputs.ToArbitrary(), input =>
        {
            string body = Body(input.Choices, input.X, onlyGood: false);
            byte[] bytes = Encoding.UTF8.GetBytes(body);
            Span<double> values = stackalloc double[64];
            if (!UsualEvaluateRequest.TryScan(bytes, values, out int count, out var name))
            {
                return true.Label("refused");
            }

            double[] read = values[..count].ToArray();
            using var document = JsonDocument.Parse(bytes);
            var root = document.RootElement;
            var keys = root.EnumerateObject().Select(p => p.Name).ToList();
            var point = root.GetProperty("input");
            return (keys.Count == keys.Distinct().Count()
                && keys.All(k => k is "name" or "input" or "config")
                && root.GetProperty("name").GetString() == Encoding.ASCII.GetString(bytes[name])
                && point.GetArrayLength() == 1
                && point[0].GetArrayLength() == count
                && Enumerable.Range(0, count).All(k => BitConverter.DoubleToInt64Bits(point[0][k].GetDouble()) == BitConverter.DoubleToInt64Bits(read[k]))
                && (!root.TryGetProperty("config", out var config) || (config.ValueKind == JsonValueKind.Object && !config.EnumerateObject().Any()))).Label(body);
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(2000).WithQuietOnSuccess(true), property);
    }

    [Fact]
    public void The_usual_body_is_accepted_however_it_is_spaced_and_ordered()
    {
        var property = Prop.ForAll(Inputs.ToArbitrary(), input =>
        {
            string body = Body(input.Choices, input.X, onlyGood: true);
            Span<double> values = stackalloc double[64];
            return UsualEvaluateRequest.TryScan(Encoding.UTF8.GetBytes(body), values, out int count, out _) && count >= 1 ? true.Label(body) : false.Label(body);
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(1000).WithQuietOnSuccess(true), property);
    }

    [Theory]
    [InlineData("""{"config":{},"input":[[0.5]],"name":"gaussian1d"}""", "gaussian1d", new[] { 0.5 })]
    [InlineData("""{"name": "echo", "input": [[1, -2e-3, 3.25E2]], "config": {}}""", "echo", new[] { 1, -0.002, 325 })]
    [InlineData(" {\n\"input\" : [ [ -0 ] ] , \"name\":\"m\"}\r\n", "m", new[] { -0.0 })]
    public void Usual_bodies_are_read_to_their_name_and_point(string body, string name, double[] point)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(body);
        Span<double> values = stackalloc double[64];
        Assert.True(UsualEvaluateRequest.TryScan(bytes, values, out int count, out var range));
        Assert.Equal(name, Encoding.ASCII.GetString(bytes[range]));
        Assert.Equal(point.Select(BitConverter.DoubleToInt64Bits), values[..count].ToArray().Select(BitConverter.DoubleToInt64Bits));
    }

    [Theory]
    [InlineData("""{"name": "echo", "input": [[1, 2]]} x""")]
    [InlineData("""{"name": "echo", "input": [[1, 2]], "name": "echo"}""")]
    [InlineData("""{"name": "echo", "input": [[1, 2]], "other": 1}""")]
    [InlineData("""{"name": "ech\u006f", "input": [[1]]}""")]
    [InlineData("""{"name": "echo", "input": [[01]]}""")]
    [InlineData("""{"name": "echo", "input": [[1e999]]}""")]
    [InlineData("""{"name": "echo", "input": [[]]}""")]
    [InlineData("""{"name": "echo", "input": [[1], [2]]}""")]
    [InlineData("""{"name": "echo", "input": [[1]], "config": {"a": 1}}""")]
    [InlineData("""{"input": [[1]]}""")]
    [InlineData("""{"name": "echo"}""")]
    [InlineData("""{"name": "echo", "input": [[1]],}""")]
    [InlineData("""{"name": "echo", "input": [[1]]""")]
    [InlineData("")]
    public void Anything_else_is_left_to_the_json_reader(string body)
    {
        Span<double> values = stackalloc double[64];
        Assert.False(UsualEvaluateRequest.TryScan(Encoding.UTF8.GetBytes(body), values, out _, out _));
    }

    [Fact]
    public void More_numbers_than_the_buffer_holds_are_left_to_the_json_reader()
    {
        Span<double> values = stackalloc double[4];
        Assert.True(UsualEvaluateRequest.TryScan("""{"name": "m", "input": [[1, 2, 3, 4]]}"""u8, values, out int count, out _));
        Assert.Equal(4, count);
        Assert.False(UsualEvaluateRequest.TryScan("""{"name": "m", "input": [[1, 2, 3, 4, 5]]}"""u8, values, out _, out _));
    }
}
