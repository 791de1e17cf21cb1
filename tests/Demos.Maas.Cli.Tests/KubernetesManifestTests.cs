using k8s;
using k8s.Models;
using Demos.Maas.Tests;

namespace Demos.Maas.Cli.Tests;

/// <summary>
/// deploy/kubernetes/*.yaml checked against the Kubernetes API schema without a cluster: each document
/// is read strictly (an unknown field or a value of the wrong type fails) into the KubernetesClient
/// models, which are generated from the Kubernetes OpenAPI schema; then the fields those kinds
/// require and the references between the objects are checked.
/// </summary>
public sealed class KubernetesManifestTests
{
    private static string Folder => Path.Combine(TestEnvironment.RepositoryRoot, "deploy", "kubernetes");

    private static readonly Dictionary<string, Type> Kinds = new()
    {
        ["v1/ConfigMap"] = typeof(V1ConfigMap),
        ["v1/Secret"] = typeof(V1Secret),
        ["v1/Service"] = typeof(V1Service),
        ["apps/v1/Deployment"] = typeof(V1Deployment),
        ["autoscaling/v2/HorizontalPodAutoscaler"] = typeof(V2HorizontalPodAutoscaler),
    };

    /// <summary>Reads and checks manifests; the objects, or the first problem.</summary>
    private static List<object> Validate(string yaml)
    {
        var objects = KubernetesYaml.LoadAllFromString(yaml, Kinds, strict: true);
        foreach (var o in objects)
        {
            switch (o)
            {
                case V1Deployment d:
                    Require(d.Metadata?.Name, "Deployment metadata.name");
                    Require(d.Spec?.Selector?.MatchLabels, "Deployment spec.selector");
                    Require(d.Spec!.Template?.Spec?.Containers, "Deployment containers");
                    foreach (var (key, value) in d.Spec.Selector!.MatchLabels)
                    {
                        Check(d.Spec.Template!.Metadata?.Labels?.TryGetValue(key, out var label) == true && label == value, $"Deployment {d.Metadata!.Name}: the pod template lacks the selector's label {key}={value}");
                    }

                    foreach (var c in d.Spec.Template!.Spec!.Containers)
                    {
                        Require(c.Name, "container name");
                        Require(c.Image, $"container {c.Name} image");
                        Check(c.Resources?.Requests?.ContainsKey("cpu") == true, $"container {c.Name}: no CPU request (the autoscaler needs one)");
                        Check(c.ReadinessProbe is not null && c.LivenessProbe is not null, $"container {c.Name}: readiness and liveness probes");
                        foreach (var probe in new[] { c.ReadinessProbe!, c.LivenessProbe! }.Where(p => p.HttpGet is not null))
                        {
                            Check(probe.HttpGet.Port.Value is { } port && (int.TryParse(port, out _) || c.Ports.Any(p => p.Name == port)), $"container {c.Name}: a probe names port '{probe.HttpGet.Port.Value}', which it does not declare");
                        }
                    }

                    break;
                case V1Service s:
                    Require(s.Metadata?.Name, "Service metadata.name");
                    Require(s.Spec?.Ports, $"Service {s.Metadata!.Name} ports");
                    foreach (var p in s.Spec!.Ports)
                    {
                        Check(p.Port is > 0 and < 65536, $"Service {s.Metadata.Name}: port {p.Port}");
                    }

                    break;
                case V2HorizontalPodAutoscaler h:
                    Require(h.Spec?.ScaleTargetRef?.Name, "HorizontalPodAutoscaler scaleTargetRef");
                    Check(h.Spec!.MaxReplicas >= (h.Spec.MinReplicas ?? 1), "HorizontalPodAutoscaler maxReplicas below minReplicas");
                    break;
            }
        }

        // References between the objects: a Service selects the Deployment's pods and names its ports;
        // the autoscaler scales a Deployment that is there.
        var deployments = objects.OfType<V1Deployment>().ToList();
        foreach (var s in objects.OfType<V1Service>())
        {
            var target = deployments.FirstOrDefault(d => s.Spec.Selector?.All(kv => d.Spec.Template.Metadata.Labels.TryGetValue(kv.Key, out var v) && v == kv.Value) == true);
            Check(target is not null, $"Service {s.Metadata.Name} selects no Deployment's pods");
            foreach (var p in s.Spec.Ports.Where(p => p.TargetPort?.Value is { } t && !int.TryParse(t, out _)))
            {
                Check(target!.Spec.Template.Spec.Containers.Any(c => c.Ports.Any(cp => cp.Name == p.TargetPort.Value)), $"Service {s.Metadata.Name}: targetPort '{p.TargetPort.Value}' is no container port");
            }
        }

        foreach (var h in objects.OfType<V2HorizontalPodAutoscaler>())
        {
            Check(deployments.Any(d => d.Metadata.Name == h.Spec.ScaleTargetRef.Name && h.Spec.ScaleTargetRef.Kind == "Deployment"), $"HorizontalPodAutoscaler {h.Metadata.Name} scales '{h.Spec.ScaleTargetRef.Name}', which is not a Deployment here");
        }

        return objects;
    }

    private static void Require(object? value, string what) => Check(value is not null && (value is not string s || s.Length > 0), $"{what} is required");

    private static void Check(bool ok, string problem)
    {
        if (!ok)
        {
            throw new InvalidDataException(problem);
        }
    }

    private static string All() =>
        string.Join("\n---\n", Directory.GetFiles(Folder, "*.yaml").Order(StringComparer.Ordinal).Select(File.ReadAllText));

    [Fact]
    public void The_manifests_are_valid_kubernetes_objects_that_refer_to_each_other()
    {
        var objects = Validate(All());
        Assert.Single(objects.OfType<V1Deployment>());
        Assert.Single(objects.OfType<V1Secret>());
        var hpa = Assert.Single(objects.OfType<V2HorizontalPodAutoscaler>());
        var metric = Assert.Single(hpa.Spec.Metrics);
        Assert.Equal("cpu", metric.Resource.Name);
        var headless = Assert.Single(objects.OfType<V1Service>(), s => s.Spec.ClusterIP == "None");
        Assert.Equal("maas-pods", headless.Metadata.Name);
        Assert.Equal(2, objects.OfType<V1Service>().Count());
    }

    public static TheoryData<string, string, string> Broken => new()
    {
        { "an unknown field", "  replicas: 2\n", "  replicas: 2\n  replica: 3\n" },
        { "a number given as a word", "replicas: 2", "replicas: two" },
        { "a misspelt kind", "kind: HorizontalPodAutoscaler", "kind: HorizontalPodAutoscalr" },
        { "a probe on a port the container does not declare", "path: /health/ready, port: http", "path: /health/ready, port: metrics" },
        { "an autoscaler of a Deployment that is not there", "    name: maas\n  minReplicas", "    name: mass\n  minReplicas" },
        { "a Service that selects no pod", "  selector: { app: maas }\n  ports:\n    - { name: maas, port: 5000, targetPort: maas }\nEOF", "  selector: { app: mass }\n  ports:\n    - { name: maas, port: 5000, targetPort: maas }\nEOF" },
        { "a container without an image", "          image: registry.example.org/demos/maas-aot:0.1.0\n", "" },
    };

    [Theory]
    [MemberData(nameof(Broken))]
    public void A_broken_manifest_is_rejected(string what, string good, string bad)
    {
        string yaml = All() + "EOF";
        Assert.True(yaml.Contains(good, StringComparison.Ordinal), $"the manifests no longer contain '{good}' ({what})");
        string broken = yaml.Replace(good, bad, StringComparison.Ordinal)[..^3];
        var ex = Assert.ThrowsAny<Exception>(() => Validate(broken));
        Console.WriteLine($"K8S: {what}: {ex.GetType().Name}: {ex.Message.Split('\n')[0]}");
        Assert.True(ex is YamlDotNet.Core.YamlException or InvalidDataException or KeyNotFoundException, $"{what}: {ex}");
    }
}
