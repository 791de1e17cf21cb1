using Demos.Maas.Protocol;
using Demos.Maas.Server;

namespace Demos.Maas.Core.Tests;

public sealed class ActiveCallsTests
{
    private static ServerCall Call(uint id) =>
        new(new MaasRequest { Id = id, Operation = Operation.LogDensity, Model = "m" }, timeout: null, CancellationToken.None, CancellationToken.None);

    [Fact]
    public void A_finished_call_removes_its_own_entry_and_not_that_of_a_new_call_with_its_id()
    {
        var active = new ActiveCalls();
        using var first = Call(5);
        using var second = Call(5);
        Assert.True(active.TryAdd(5, first));
        Assert.False(active.TryAdd(5, second));

        active.Remove(first);
        Assert.True(active.TryAdd(5, second)); // the client reused the id as soon as it had its answer

        // The first call's cleanup runs again (its finally block): the second call stays findable,
        // so a Cancel for it still reaches it.
        active.Remove(first);
        Assert.Same(second, active.Find(5));
        Assert.Equal([second], active.Snapshot());

        active.Remove(second);
        Assert.False(active.Contains(5));
        Assert.Null(active.Find(5));
    }
}
