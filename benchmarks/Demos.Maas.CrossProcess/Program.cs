using System.Globalization;
using Demos.Maas.CrossProcess;

// The cross-process benchmark: servers and clients in separate processes, floors measured the same
// way in the same run. benchmarks/run-cross-process.sh builds what it needs and calls "report".
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
int Int(string s) => int.Parse(s, CultureInfo.InvariantCulture);
return args switch
{
    ["floor-server", var kind, var where, var mode] => await SocketFloor.ServeAsync(kind, where, mode == "sync"),
    ["floor-client", var kind, var where, var mode, var req, var resp, var rounds, var warmupSeconds] => await SocketFloor.ClientAsync(kind, where, mode == "sync", Int(req), Int(resp), Int(rounds), TimeSpan.FromSeconds(Int(warmupSeconds))),
    ["report", .. var rest] => await ReportAsync(rest),
    ["picture", var results, var image] => CrossProcessReport.Redraw(results, image),
    _ => Usage(),
};

static async Task<int> ReportAsync(string[] args)
{
    ReportOptions options;
    try
    {
        options = ReportOptions.Parse(args);
    }
    catch (ArgumentException ex)
    {
        Console.Error.WriteLine($"report: {ex.Message}");
        return Usage();
    }

    return await CrossProcessReport.RunAsync(options);
}

static int Usage()
{
    Console.Error.WriteLine("""
        usage: Demos.Maas.CrossProcess report --maas PATH [--maas-aot PATH] --pingpong PATH [--out DIR] [--doc FILE] [--image FILE] [--umbridge-client PATH [--http-responder PATH] [--umbridge-reference SCRIPT]] [--quick]
               Demos.Maas.CrossProcess floor-server unix|tcp PATH|PORT sync|async
               Demos.Maas.CrossProcess floor-client unix|tcp PATH|PORT sync|async REQUEST_BYTES RESPONSE_BYTES ROUNDS WARMUP_SECONDS
               Demos.Maas.CrossProcess picture RESULTS_JSON IMAGE_PNG   (redraws a report's picture)
        """);
    return 2;
}
