using FsCheck;
using FsCheck.Fluent;
using Demos.Maas.Protocol;

namespace Demos.Maas.Core.Tests;

/// <summary>FsCheck generators for every protocol message with arbitrary field values.</summary>
internal static class MessageGenerators
{
    private static readonly Gen<double> AnyDouble = ArbMap.Default.GeneratorFor<double>();
    private static readonly Gen<string> AnyString = ArbMap.Default.GeneratorFor<string>().Select(s => s ?? "");
    private static readonly Gen<string?> MaybeString = Gen.OneOf(Gen.Constant<string?>(null), AnyString.Select(s => (string?)s));
    private static readonly Gen<uint> AnyUInt = ArbMap.Default.GeneratorFor<uint>();
    private static readonly Gen<ulong> AnyULong = ArbMap.Default.GeneratorFor<ulong>();
    private static readonly Gen<long> NonNegativeLong = AnyULong.Select(u => (long)(u >> 1));

    public static Gen<DoubleMatrix> Matrix { get; } =
        from rows in Gen.Choose(0, 6)
        from cols in Gen.Choose(0, 5)
        from values in Gen.ArrayOf(AnyDouble, rows * cols)
        select DoubleMatrix.Wrap(values, rows, cols);

    public static Gen<double[]> Vector { get; } = Gen.Choose(0, 6).SelectMany(n => Gen.ArrayOf(AnyDouble, n));

    private static Gen<ProtocolVersion> Version { get; } =
        from major in Gen.Choose(0, 1000)
        from minor in Gen.Choose(0, 1000)
        select new ProtocolVersion(major, minor);

    private static Gen<List<string>> Strings { get; } = Gen.ListOf(AnyString).Select(l => l.ToList());

    private static Gen<ParameterInfo> Parameter { get; } =
        from name in AnyString
        from shape in Gen.ListOf(Gen.Choose(0, 4))
        from def in Vector
        from lower in Gen.OneOf(Gen.Constant<double[]?>(null), Vector.Select(v => (double[]?)v))
        from upper in Gen.OneOf(Gen.Constant<double[]?>(null), Vector.Select(v => (double[]?)v))
        from description in MaybeString
        select new ParameterInfo { Name = name, Shape = shape.ToList(), Default = def, Lower = lower, Upper = upper, Description = description };

    private static Gen<ModelInfo> Info { get; } =
        from uuid in ArbMap.Default.GeneratorFor<Guid>()
        from name in AnyString
        from version in AnyString
        from description in MaybeString
        from authors in Strings
        from doi in MaybeString
        from caps in Gen.Choose(0, 511)
        from dims in Gen.Choose(0, 100).Two()
        from parameters in Gen.Choose(0, 3).SelectMany(n => Gen.ListOf(Parameter, n))
        select new ModelInfo
        {
            Uuid = uuid, Name = name, Version = version, Description = description, Authors = authors, Doi = doi,
            Capabilities = (ModelCapabilities)caps, InputDimension = dims.Item1, OutputDimension = dims.Item2, Parameters = parameters.ToList(),
        };

    private static Gen<DatasetInfo> Dataset { get; } =
        from name in AnyString
        from rows in NonNegativeLong
        from cols in Gen.Choose(0, 1000)
        from description in MaybeString
        select new DatasetInfo { Name = name, Rows = rows, Columns = cols, Description = description };

    private static Gen<Dictionary<string, double[]>> Values { get; } =
        Gen.ListOf(Gen.Zip(AnyString, Vector)).Select(pairs =>
        {
            var d = new Dictionary<string, double[]>(StringComparer.Ordinal);
            foreach (var (k, v) in pairs)
            {
                d[k] = v;
            }

            return d;
        });

    private static Gen<MaasMessage> Hello { get; } =
        from v in Version
        from agent in AnyString
        from max in AnyUInt
        from features in Strings
        from auth in MaybeString
        select (MaasMessage)new HelloMessage { Version = v, Agent = agent, MaxFrameBytes = max, Features = features, Credentials = auth };

    private static Gen<MaasMessage> Welcome { get; } =
        from v in Version
        from agent in AnyString
        from max in AnyUInt
        from inFlight in AnyUInt
        from features in Strings
        select (MaasMessage)new WelcomeMessage { Version = v, Agent = agent, MaxFrameBytes = max, MaxInFlight = inFlight, Features = features };

    private static Gen<MaasMessage> Request { get; } =
        from op in Gen.Choose(1, 10)
        from model in MaybeString
        from x in Gen.OneOf(Gen.Constant<DoubleMatrix?>(null), Matrix.Select(m => (DoubleMatrix?)m))
        from theta in Vector
        from v in Gen.OneOf(Gen.Constant<DoubleMatrix?>(null), Matrix.Select(m => (DoubleMatrix?)m))
        from kind in Gen.Choose(1, 4)
        from count in Gen.OneOf(Gen.Constant(-1L), NonNegativeLong)
        from seed in Gen.OneOf(Gen.Constant<ulong?>(null), AnyULong.Select(s => (ulong?)s))
        from chunk in Gen.Choose(0, 100000)
        from dataset in MaybeString
        from offset in NonNegativeLong
        from update in Gen.OneOf(Gen.Constant<ParameterUpdate?>(null), Values.SelectMany(values => MaybeString.Select(id => (ParameterUpdate?)new ParameterUpdate { Values = values, UpdateId = id })))
        from timeout in Gen.OneOf(Gen.Constant<long?>(null), NonNegativeLong.Select(t => (long?)t))
        from trace in MaybeString
        from cache in Gen.Choose(0, 2)
        select (MaasMessage)new MaasRequest
        {
            TraceParent = trace, Cache = (CacheMode)cache,
            Operation = (Operation)op, Model = model, X = x, Theta = theta, Vector = v, GradientKind = (GradientKind)kind,
            Count = count, Seed = seed, ChunkRows = chunk, Dataset = dataset, Offset = offset, Update = update, TimeoutMicros = timeout,
        };

    private static Gen<MaasMessage> Response { get; } =
        from y in Gen.OneOf(Gen.Constant<DoubleMatrix?>(null), Matrix.Select(m => (DoubleMatrix?)m))
        from info in Gen.OneOf(Gen.Constant<ModelInfo?>(null), Info.Select(i => (ModelInfo?)i))
        from models in Gen.OneOf(Gen.Constant<List<ModelInfo>?>(null), Gen.Choose(0, 3).SelectMany(n => Gen.ListOf(Info, n)).Select(l => (List<ModelInfo>?)l.ToList()))
        from datasets in Gen.OneOf(Gen.Constant<List<DatasetInfo>?>(null), Gen.ListOf(Dataset).Select(l => (List<DatasetInfo>?)l.ToList()))
        from parameters in Gen.OneOf(Gen.Constant<ParameterSet?>(null), Values.SelectMany(v => NonNegativeLong.Select(version => (ParameterSet?)new ParameterSet(version, v))))
        select (MaasMessage)new MaasResponse { Y = y, Info = info, Models = models, Datasets = datasets, Parameters = parameters };

    private static Gen<MaasMessage> Chunk { get; } =
        from seq in NonNegativeLong
        from rows in Matrix
        select (MaasMessage)new StreamChunkMessage { Sequence = seq, Rows = rows };

    private static Gen<MaasMessage> End { get; } =
        from rows in NonNegativeLong
        from seed in Gen.OneOf(Gen.Constant<ulong?>(null), AnyULong.Select(s => (ulong?)s))
        select (MaasMessage)new StreamEndMessage { TotalRows = rows, Seed = seed };

    private static Gen<MaasMessage> Error { get; } =
        from code in Gen.Choose(0, 20)
        from message in AnyString
        from details in Gen.OneOf(Gen.Constant<Dictionary<string, string>?>(null), Gen.ListOf(Gen.Zip(AnyString, AnyString)).Select(pairs =>
        {
            var d = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (k, v) in pairs)
            {
                d[k] = v;
            }

            return (Dictionary<string, string>?)d;
        }))
        select (MaasMessage)new ErrorMessage { Code = (MaasErrorCode)code, Message = message, Details = details };

    private static Gen<MaasMessage> Goodbye { get; } =
        from code in Gen.Choose(0, 20)
        from message in AnyString
        select (MaasMessage)new GoodbyeMessage { Code = (MaasErrorCode)code, Message = message };

    private static Gen<MaasMessage> ParametersChanged { get; } =
        from model in ArbMap.Default.GeneratorFor<Guid>()
        from version in NonNegativeLong
        select (MaasMessage)new ParametersChangedMessage { Model = model, Version = version };

    public static Gen<MaasMessage> Any { get; } =
        from message in Gen.OneOf(Hello, Welcome, Request, Response, Chunk, End, Error, Gen.Fresh<MaasMessage>(() => new CancelMessage()), Goodbye, ParametersChanged)
        from id in AnyUInt
        select WithId(message, id);

    public static Arbitrary<MaasMessage> Arbitrary { get; } = Any.ToArbitrary();

    private static MaasMessage WithId(MaasMessage message, uint id)
    {
        message.Id = id;
        return message;
    }
}
