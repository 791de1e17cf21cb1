using System.Security.Cryptography;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Demos.Maas.Core.Tests;

/// <summary>
/// The managed SHA-1 behind version-5 uuids (no OpenSSL in a FROM scratch image) against the
/// platform's SHA-1 and against Python's uuid.uuid5.
/// </summary>
public sealed class NameBasedUuidTests
{
    [Theory]
    [InlineData("gaussian2d", "5482d458-e062-5238-bc0d-8d84e8f4369a")]
    [InlineData("", "52328018-94af-52da-840b-641ed9164165")]
    [InlineData("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "ba6f5a1e-10f2-53a4-939e-dbfe2e013456")]
    public void Name_based_uuids_match_python_uuid5(string name, string expected) =>
        Assert.Equal(Guid.Parse(expected), ModelBuilder.NameBasedUuid(name));

    [Theory]
    [InlineData(0, "da39a3ee5e6b4b0d3255bfef95601890afd80709")]
    [InlineData(55, "c1c8bbdc22796e28c0e15163d20899b65621d65a")]
    [InlineData(56, "c2db330f6083854c99d4b5bfb6e8f29f201be699")]
    [InlineData(64, "0098ba824b5c16427bd7a1122a5a442a25ec644d")]
    public void Padding_boundaries_give_the_standard_digests(int length, string expected) =>
        Assert.Equal(expected, Convert.ToHexStringLower(Sha1.HashData(Encoding.ASCII.GetBytes(new string('a', length)))));

    [Property(MaxTest = 300)]
    public Property The_managed_digest_equals_the_platform_digest() =>
        Prop.ForAll(ArbMap.Default.ArbFor<byte[]>(), bytes =>
        {
#pragma warning disable CA5350 // the reference implementation in a test, not a security use
            return Sha1.HashData(bytes).AsSpan().SequenceEqual(SHA1.HashData(bytes));
#pragma warning restore CA5350
        });
}
