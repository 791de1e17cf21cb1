using Demos.Maas.Tests;

namespace Demos.Maas.Cli.Tests;

/// <summary>
/// <c>Demos.Maas.CrossProcess picture</c>, the redraw of the benchmark report's picture from its
/// kept results (docs/benchmarks.md): it draws from the committed results, and refuses what it
/// cannot read or write with one line.
/// </summary>
public sealed class BenchmarkPictureTests
{
    private static readonly string Tool = TestEnvironment.Output("benchmarks", "Demos.Maas.CrossProcess", "Demos.Maas.CrossProcess.dll");

    private static Task<(int Code, string Output)> PictureAsync(string results, string image) =>
        TestEnvironment.RunAsync("dotnet", TestEnvironment.RepositoryRoot, [Tool, "picture", results, image], limit: TimeSpan.FromMinutes(2));

    [Fact]
    public async Task Redraws_the_committed_results_into_a_png()
    {
        string png = Path.Combine(Path.GetTempPath(), $"maas-picture-{Guid.NewGuid():N}.png");
        try
        {
            var (code, output) = await PictureAsync(Path.Combine(TestEnvironment.RepositoryRoot, "benchmarks", "cross-process", "results.json"), png);
            Assert.True(code == 0, output);
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(png)[..4]);
        }
        finally
        {
            File.Delete(png);
        }
    }

    [Theory]
    [InlineData(null, "cannot read the results in")]
    [InlineData("not json", "cannot read the results in")]
    [InlineData("{\"machine\": \"m\"}", "cannot read the results in")]
    [InlineData("{\"floors\": [{\"name\": \"f\", \"batch\": \"one\"}], \"cases\": []}", "cannot read the results in")]
    public async Task Results_it_cannot_read_give_one_line_and_exit_2(string? content, string expected)
    {
        string results = Path.Combine(Path.GetTempPath(), $"maas-results-{Guid.NewGuid():N}.json");
        string png = Path.ChangeExtension(results, ".png");
        if (content is not null)
        {
            await File.WriteAllTextAsync(results, content);
        }

        try
        {
            var (code, output) = await PictureAsync(results, png);
            Assert.Equal(2, code);
            Assert.StartsWith($"picture: {expected} '{results}'", output.Trim());
            Assert.Single(output.Trim().Split('\n'));
            Assert.False(File.Exists(png));
        }
        finally
        {
            File.Delete(results);
        }
    }

    [Fact]
    public async Task An_image_it_cannot_write_gives_one_line_and_exit_2()
    {
        var (code, output) = await PictureAsync(Path.Combine(TestEnvironment.RepositoryRoot, "benchmarks", "cross-process", "results.json"), "/nonexistent/dir/picture.png");
        Assert.Equal(2, code);
        Assert.StartsWith("picture: cannot write the plot to '/nonexistent/dir/picture.png'", output.Trim());
        Assert.Single(output.Trim().Split('\n'));
    }
}
