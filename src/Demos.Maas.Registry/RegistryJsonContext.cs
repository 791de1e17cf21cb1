using System.Text.Json.Serialization;

namespace Demos.Maas.Registry;

/// <summary>Source-generated JSON for every document the registry reads or writes (no reflection, so NativeAOT-clean).</summary>
[JsonSourceGenerationOptions(WriteIndented = false, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(MaasReference))]
[JsonSerializable(typeof(RegistrationRequest))]
[JsonSerializable(typeof(EndpointRegistration))]
[JsonSerializable(typeof(ModelResolution))]
[JsonSerializable(typeof(List<ModelVersionRecord>))]
[JsonSerializable(typeof(List<EndpointRecord>))]
[JsonSerializable(typeof(List<ModelSummary>))]
[JsonSerializable(typeof(RegistryErrorBody))]
internal sealed partial class RegistryJsonContext : JsonSerializerContext
{
}
