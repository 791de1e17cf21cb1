using System.Reflection;
using Demos.Maas.Client;
using Demos.Maas.Middleware;
using Demos.Maas.Transport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Demos.Maas.Core.Tests;

/// <summary>MaasClientOptions.Clone copies every property, so a new option is never silently dropped by DI's client factory.</summary>
public sealed class ClientOptionsCloneTests
{
    [Fact]
    public void Clone_copies_every_public_property_and_the_lists_are_new()
    {
        var original = new MaasClientOptions
        {
            Uri = "tcp://127.0.0.1:1",
            ConnectTimeout = TimeSpan.FromSeconds(3),
            DefaultTimeout = TimeSpan.FromSeconds(4),
            Reconnect = false,
            MaxFrameBytes = 12345,
            Credentials = "key",
            Compression = Protocol.MaasCompression.Zstd,
            CompressionThresholdBytes = 777,
            ProtocolVersion = new Protocol.ProtocolVersion(1, 7),
            Agent = "agent/9",
            Cache = new ResultCacheOptions(),
            Retry = null,
            Coalescing = new BatchingOptions(),
            UsageLog = true,
            InlineCompletions = true,
            LoggerFactory = NullLoggerFactory.Instance,
        };
        original.Transports.Add(new InProcessTransport());
        original.Pipeline.Use(next => next);

        var copy = original.Clone();
        foreach (var property in typeof(MaasClientOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            object? expected = property.GetValue(original);
            object? actual = property.GetValue(copy);
            if (property.Name == nameof(MaasClientOptions.Transports))
            {
                Assert.NotSame(expected, actual);
                Assert.Equal(original.Transports, copy.Transports);
            }
            else if (property.Name == nameof(MaasClientOptions.Pipeline))
            {
                Assert.NotSame(expected, actual);
                Assert.Equal(original.Pipeline.Count, copy.Pipeline.Count);
            }
            else
            {
                Assert.True(Equals(expected, actual), $"{property.Name} was not copied.");
            }
        }

        // Every settable property was given a non-default value above, so the loop proved something.
        var defaults = new MaasClientOptions();
        foreach (var property in typeof(MaasClientOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite && p.SetMethod!.IsPublic))
        {
            Assert.False(Equals(property.GetValue(defaults), property.GetValue(original)), $"The test gives {property.Name} no value of its own; add it.");
        }

        copy.Transports.Clear();
        Assert.Single(original.Transports);
    }
}
