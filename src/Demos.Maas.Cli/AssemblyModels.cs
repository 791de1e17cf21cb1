using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.Loader;

namespace Demos.Maas.Cli;

/// <summary>
/// Models from a .NET assembly: every public, non-abstract type that implements <see cref="IModel"/>
/// and has a public parameterless constructor. Needs the JIT (the `dotnet tool` build of maas);
/// the NativeAOT build cannot load assemblies and says so.
/// </summary>
internal static class AssemblyModels
{
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Guarded by RuntimeFeature.IsDynamicCodeSupported: only the JIT build loads assemblies.")]
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "Guarded by RuntimeFeature.IsDynamicCodeSupported: only the JIT build loads assemblies.")]
    [UnconditionalSuppressMessage("Trimming", "IL2072", Justification = "Guarded by RuntimeFeature.IsDynamicCodeSupported: only the JIT build loads assemblies.")]
    [UnconditionalSuppressMessage("AOT", "IL3050", Justification = "Guarded by RuntimeFeature.IsDynamicCodeSupported: only the JIT build loads assemblies.")]
    public static IReadOnlyList<IModel> Load(string path)
    {
        if (!RuntimeFeature.IsDynamicCodeSupported)
        {
            throw new MaasException(MaasErrorCode.Unsupported, $"this native build of maas cannot load .NET assemblies ('{path}'); use the maas .NET tool (dotnet tool install Demos.Maas.Cli) or a built-in model.");
        }

        if (!File.Exists(path))
        {
            throw new MaasException(MaasErrorCode.NotFound, $"assembly '{path}' does not exist.");
        }

        Assembly assembly;
        try
        {
            assembly = new ModelLoadContext(Path.GetFullPath(path)).LoadFromAssemblyPath(Path.GetFullPath(path));
        }
        catch (BadImageFormatException)
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"'{path}' is not a .NET assembly.");
        }

        Type[] types;
        try
        {
            types = assembly.GetExportedTypes();
        }
        catch (ReflectionTypeLoadException ex)
        {
            types = [.. ex.Types.Where(t => t is not null).Select(t => t!)];
        }
        catch (FileNotFoundException ex)
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"'{path}' needs an assembly that is not beside it: {ex.FileName}.");
        }

        var models = new List<IModel>();
        foreach (var type in types)
        {
            if (type.IsAbstract || !typeof(IModel).IsAssignableFrom(type) || type.GetConstructor(Type.EmptyTypes) is null)
            {
                continue;
            }

            try
            {
                models.Add((IModel)Activator.CreateInstance(type)!);
            }
            catch (TargetInvocationException ex)
            {
                throw new MaasException(MaasErrorCode.ModelError, $"creating {type.FullName} from '{path}' failed: {ex.InnerException?.Message ?? ex.Message}");
            }
        }

        return models.Count > 0 ? models : throw new MaasException(MaasErrorCode.NotFound, $"'{path}' has no public IModel type with a parameterless constructor.");
    }

    /// <summary>
    /// Loads a model assembly with its own dependencies (resolved from its .deps.json / folder), but
    /// shares the Demos.Maas assemblies with the host so its types implement the host's IModel.
    /// </summary>
    private sealed class ModelLoadContext(string path) : AssemblyLoadContext(isCollectible: false)
    {
        private readonly AssemblyDependencyResolver _resolver = new(path);

        [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Only reached from Load, which is guarded by RuntimeFeature.IsDynamicCodeSupported.")]
        protected override Assembly? Load(AssemblyName assemblyName)
        {
            if (assemblyName.Name?.StartsWith("Demos.Maas", StringComparison.Ordinal) == true && assemblyName.Name != Path.GetFileNameWithoutExtension(path))
            {
                return null; // the contract: use the host's copy
            }

            return _resolver.ResolveAssemblyToPath(assemblyName) is { } resolved ? LoadFromAssemblyPath(resolved) : null;
        }
    }
}
