namespace Demos.Maas.CrossProcess;

/// <summary>What <c>report</c> runs and where it writes.</summary>
internal sealed record ReportOptions(string Maas, string? MaasAot, string Pingpong, string OutDir, string? Doc, string Image, bool Quick, string? UmBridgeClient = null, string? HttpResponder = null, string? UmBridgeReference = null)
{
    public static ReportOptions Parse(string[] args)
    {
        string? maas = null, aot = null, pingpong = null, doc = null, umbridge = null, responder = null, reference = null;
        string outDir = "benchmarks/cross-process", image = "docs/images/cross-process.png";
        bool quick = false;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--maas": maas = Next(); break;
                case "--maas-aot": aot = Next(); break;
                case "--pingpong": pingpong = Next(); break;
                case "--out": outDir = Next(); break;
                case "--doc": doc = Next(); break;
                case "--image": image = Next(); break;
                case "--quick": quick = true; break;
                case "--umbridge-client": umbridge = Next(); break;
                case "--http-responder": responder = Next(); break;
                case "--umbridge-reference": reference = Next(); break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }
        }

        return new ReportOptions(
            maas ?? throw new ArgumentException("--maas PATH (the JIT maas tool) is required"),
            aot,
            pingpong ?? throw new ArgumentException("--pingpong PATH (benchmarks/floors/pingpong.c, built) is required"),
            outDir,
            doc,
            image,
            quick,
            umbridge,
            responder,
            reference);
    }
}
