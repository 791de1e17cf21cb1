using Demos.Maas.Client;
using Demos.Maas.Models;
using Demos.Maas.Security;
using Demos.Maas.Server;
using Demos.Maas.Transport;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Demos.Maas.Core.Tests;

/// <summary>Arbitrary credentials never crash the check and never authenticate by accident.</summary>
public sealed class CredentialPropertyTests
{
    private static readonly (string Secret, ApiKey Key) Admin = ApiKeys.Create("admin-1", ["admin"]);

    private static readonly CallerAuthenticator Authenticator = new(new MaasSecurityOptions { Keys = [Admin.Key] });

    [Property(MaxTest = 5000)]
    public Property Arbitrary_credentials_are_refused_with_Unauthenticated()
    {
        Assert.Equal("admin-1", Authenticator.Authenticate(Admin.Secret, null).Identity!.Name);
        var near = Gen.Elements(Admin.Secret).SelectMany(s => Gen.Choose(0, s.Length - 1).SelectMany(i => Gen.Choose(32, 126).Select(c => s[..i] + (char)c + s[(i + 1)..])));
        var prefixed = ArbMap.Default.GeneratorFor<string>().Select(s => $"maas_admin-1.{s}");
        var any = ArbMap.Default.GeneratorFor<string>();
        var credentials = Gen.OneOf(near, prefixed, any).Where(c => c != Admin.Secret);
        return Prop.ForAll(credentials.ToArbitrary(), credential =>
        {
            try
            {
                Authenticator.Authenticate(credential, certificateSubject: null);
                return false;
            }
            catch (MaasException ex)
            {
                return ex.Code == MaasErrorCode.Unauthenticated;
            }
        });
    }

    [Fact]
    public async Task Arbitrary_credentials_in_Hello_never_get_a_Welcome()
    {
        var server = new MaasServer(new MaasServerOptions { Security = new MaasSecurityOptions { Keys = [Admin.Key] } });
        await using (server)
        {
            server.AddModel(GaussianModel.Create(1));
            var uri = await server.ListenAsync($"inproc://fuzz-{Guid.NewGuid():N}");
            var random = new Random(20261202);
            var samples = Enumerable.Range(0, 200).Select(i => new string([.. Enumerable.Range(0, random.Next(0, 80)).Select(_ => (char)random.Next(1, i % 2 == 0 ? 128 : 0xD7FF))]));
            foreach (var credential in samples.Append("").Append(Admin.Secret[..^1]))
            {
                var refused = await Assert.ThrowsAsync<MaasException>(() => MaasClient.ConnectAsync(uri, new MaasClientOptions { Credentials = credential, Reconnect = false, Retry = null }));
                Assert.Equal(MaasErrorCode.Unauthenticated, refused.Code);
            }

            await using var admin = await MaasClient.ConnectAsync(uri, new MaasClientOptions { Credentials = Admin.Secret });
            Assert.Single(await admin.ListModelsAsync());
        }
    }
}
