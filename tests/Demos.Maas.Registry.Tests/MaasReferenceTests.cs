using Demos.Maas.Registry;

namespace Demos.Maas.Registry.Tests;

public class MaasReferenceTests
{
    private const string Valid = """
        {
          "type": "maas_reference",
          "uuid": "5b0c3f7e-2d4a-4e8b-9c1d-7a6e5f4b3c2d",
          "endpoint": "tcp://models.example.org:5000",
          "version": "1.2.0",
          "checksum": "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
          "metadata": { "doi": "10.5281/zenodo.1234567", "description": "A model", "authors": ["Ada Lovelace"] }
        }
        """;

    [Fact]
    public void A_valid_document_reads_and_writes_back_the_same()
    {
        var reference = MaasReferenceJson.Parse(Valid);
        Assert.Equal(TestModels.Uuid, reference.Uuid);
        Assert.Equal("1.2.0", reference.Version);
        Assert.Equal(["Ada Lovelace"], reference.Metadata.Authors);
        var again = MaasReferenceJson.Parse(MaasReferenceJson.Serialize(reference));
        Assert.Equal(MaasReferenceJson.Serialize(reference), MaasReferenceJson.Serialize(again));
        Assert.Contains("\"type\": \"maas_reference\"", MaasReferenceJson.Serialize(reference), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"type\": \"maas_reference\"", "\"type\": \"model\"", "type", "maas_reference")]
    [InlineData("\"uuid\": \"5b0c3f7e-2d4a-4e8b-9c1d-7a6e5f4b3c2d\"", "\"uuid\": \"not-a-uuid\"", "uuid", "UUID")]
    [InlineData("\"uuid\": \"5b0c3f7e-2d4a-4e8b-9c1d-7a6e5f4b3c2d\"", "\"uuid\": \"5b0c3f7e-2d4a-1e8b-9c1d-7a6e5f4b3c2d\"", "uuid", "version 4")]
    [InlineData("\"version\": \"1.2.0\"", "\"version\": \"1.2\"", "version", "semantic version")]
    [InlineData("\"checksum\": \"sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"", "\"checksum\": \"md5:abc\"", "checksum", "sha256:")]
    [InlineData("\"endpoint\": \"tcp://models.example.org:5000\"", "\"endpoint\": \"models\"", "endpoint", "absolute URI")]
    [InlineData("\"authors\": [\"Ada Lovelace\"]", "\"authors\": \"Ada Lovelace\"", "metadata.authors", "array")]
    [InlineData("\"authors\": [\"Ada Lovelace\"]", "\"authors\": [\"\"]", "metadata.authors[0]", "non-empty")]
    [InlineData("\"doi\": \"10.5281/zenodo.1234567\"", "\"doi\": \"zenodo\"", "metadata.doi", "DOI")]
    [InlineData("\"endpoint\": \"tcp://models.example.org:5000\",", "", "endpoint", "missing")]
    public void A_malformed_document_is_refused_naming_the_field_and_what_was_expected(string part, string replacement, string field, string expected)
    {
        var ex = Assert.Throws<RegistryException>(() => MaasReferenceJson.Parse(Valid.Replace(part, replacement, StringComparison.Ordinal)));
        Assert.Equal(RegistryError.MalformedReference, ex.Error);
        Assert.Equal(MaasErrorCode.InvalidArgument, ex.Code);
        Assert.Equal(field, ex.Field);
        Assert.Contains($"'{field}'", ex.Message, StringComparison.Ordinal);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Not_json_and_a_missing_file_are_malformed_references()
    {
        Assert.Equal(RegistryError.MalformedReference, Assert.Throws<RegistryException>(() => MaasReferenceJson.Parse("{ nope")).Error);
        Assert.Equal(RegistryError.MalformedReference, Assert.Throws<RegistryException>(() => MaasReferenceJson.Parse("[]")).Error);
        Assert.Equal(RegistryError.MalformedReference, Assert.Throws<RegistryException>(() => MaasReferenceJson.Load("/nonexistent/ref.json")).Error);
    }

    [Fact]
    public void The_checksum_is_stable_and_changes_with_the_version_the_metadata_or_the_artifact()
    {
        var v1 = TestModels.Create("1.0.0").Info;
        string checksum = ModelChecksum.Compute(v1, null);
        Assert.Matches("^sha256:[0-9a-f]{64}$", checksum);
        Assert.Equal(checksum, ModelChecksum.Compute(TestModels.Create("1.0.0").Info, null));
        Assert.NotEqual(checksum, ModelChecksum.Compute(TestModels.Create("1.1.0").Info, null));
        Assert.NotEqual(checksum, ModelChecksum.Compute(TestModels.Create("1.0.0", offset: 1).Info, null));
        Assert.NotEqual(checksum, ModelChecksum.Compute(v1, "sha256:" + new string('a', 64)));
    }

    [Fact]
    public void The_canonical_form_is_the_documented_one()
    {
        // docs/identity.md §3 shows this document; a port to another language compares against it.
        string canonical = System.Text.Encoding.UTF8.GetString(ModelChecksum.CanonicalBytes(TestModels.Create("1.0.0").Info, null));
        Assert.StartsWith("{\"checksum_version\":\"1\",\"uuid\":\"5b0c3f7e-2d4a-4e8b-9c1d-7a6e5f4b3c2d\",\"name\":\"shifted-normal\",\"version\":\"1.0.0\"", canonical, StringComparison.Ordinal);
        Assert.EndsWith("\"artifact\":\"\"}", canonical, StringComparison.Ordinal);
        Assert.Contains("\"lower\":null", canonical, StringComparison.Ordinal);
    }
}
