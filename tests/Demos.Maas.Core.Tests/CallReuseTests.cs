using System.Collections.Concurrent;
using System.Reflection;
using Demos.Maas.Client;
using Demos.Maas.Models;
using Demos.Maas.Protocol;
using Demos.Maas.Server;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Demos.Maas.Core.Tests;

/// <summary>
/// A server connection reuses the request, the call and the call context of a call that ended
/// cleanly: nothing of one call may show through in the next, and a call that might still be acted
/// on (cancelled, with a deadline, failed) is never reused.
/// </summary>
public sealed class CallReuseTests
{
    [Property(Arbitrary = [typeof(MessageGenerators)], MaxTest = 200)]
    public bool A_reset_request_is_indistinguishable_from_a_new_one(MaasMessage message)
    {
        if (message is not MaasRequest request)
        {
            return true;
        }

        request.Reset();
        var fresh = new MaasRequest();
        foreach (var property in typeof(MaasRequest).GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
        {
            if (!Equals(property.GetValue(fresh), property.GetValue(request)))
            {
                return false;
            }
        }

        return true;
    }

    [Fact]
    public void A_reset_context_is_indistinguishable_from_a_new_one_but_for_its_request_and_token()
    {
        var first = new MaasRequest { Id = 1, Operation = Operation.Evaluate, Model = "a" };
        var used = new MaasCallContext(first, isServer: true, new CancellationToken(canceled: true))
        {
            Timeout = TimeSpan.FromSeconds(3),
            CallerIdentity = "alice",
            Credentials = "secret",
            User = new System.Security.Claims.ClaimsPrincipal(),
            RemoteAddress = "peer",
            Model = GaussianModel.Create(1),
            Response = new MaasResponse(),
            Stream = AsyncEnumerable.Empty<DoubleMatrix>(),
            StreamSeed = 7,
        };
        used.Items["left"] = "behind";

        var second = new MaasRequest { Id = 2 };
        used.Reset(second, CancellationToken.None);
        var fresh = new MaasCallContext(second, isServer: true, CancellationToken.None);
        foreach (var property in typeof(MaasCallContext).GetProperties(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance))
        {
            object? expected = property.GetValue(fresh), actual = property.GetValue(used);
            if (expected is IDictionary<string, object?> items)
            {
                Assert.Equal(items, (IDictionary<string, object?>)actual!);
            }
            else
            {
                Assert.True(Equals(expected, actual), $"{property.Name}: {actual} after a reset, {expected} when new");
            }
        }
    }

    [Fact]
    public void A_call_is_recyclable_only_when_nothing_can_still_cancel_it()
    {
        using var plain = ServerCall.ForConnection(new MaasRequest { Id = 1 });
        Assert.True(plain.Recyclable);

        using var cancelled = ServerCall.ForConnection(new MaasRequest { Id = 2 });
        cancelled.Cancel(CallEndReason.Caller);
        Assert.False(cancelled.Recyclable);

        // A deadline's timer may fire after it is disposed: such a call is never reused.
        using var timed = ServerCall.ForConnection(new MaasRequest { Id = 3, TimeoutMicros = 60_000_000 });
        timed.End();
        Assert.False(timed.Recyclable);

        // Not a connection's call: it owns no context to reuse.
        using var invoked = new ServerCall(new MaasRequest { Id = 4 }, timeout: null, CancellationToken.None, CancellationToken.None);
        Assert.False(invoked.Recyclable);
    }

    [Fact]
    public void A_restarted_call_has_a_live_token_even_when_a_late_cancel_reached_it_in_the_pool()
    {
        var pool = new CallPool();
        var call = pool.RentCall(new MaasRequest { Id = 1 });
        var firstToken = call.Token;
        call.End();
        pool.Return(call);

        // A Cancel for id 1 found the call just before it ended, and lands now.
        call.Cancel(CallEndReason.Caller);
        Assert.True(firstToken.IsCancellationRequested);

        var request = pool.RentRequest();
        request.Id = 2;
        var again = pool.RentCall(request);
        Assert.Same(call, again);
        Assert.Equal(1, pool.Reused);
        Assert.False(again.Token.IsCancellationRequested);
        Assert.True(again.Recyclable);
        Assert.Same(request, again.Context!.Request);
        Assert.Equal(again.Token, again.Context.CancellationToken);
        again.Dispose();
    }

    [Fact]
    public void A_pooled_request_comes_back_empty()
    {
        var pool = new CallPool();
        var request = pool.RentRequest();
        request.Id = 9;
        request.Model = "m";
        request.X = DoubleMatrix.FromColumn(1, 2);
        var call = pool.RentCall(request);
        call.End();
        pool.Return(call);

        var next = pool.RentRequest();
        Assert.Same(request, next);
        Assert.Equal(0u, next.Id);
        Assert.Null(next.Model);
        Assert.Null(next.X);
        Assert.Null(call.Context!.Response);
    }

    [Fact]
    public async Task Middleware_sees_a_fresh_context_in_every_call_though_the_connection_reuses_them()
    {
        string uri = $"inproc://reuse-{Guid.NewGuid():N}";
        await using var server = new MaasServer();
        server.AddModel(GaussianModel.Create(1));
        var contexts = new ConcurrentDictionary<MaasCallContext, int>(ReferenceEqualityComparer.Instance);
        var stale = new ConcurrentQueue<string>();
        server.Use(next => async context =>
        {
            if (context.TryGetItem("mark", out var mark))
            {
                stale.Enqueue($"item left by call {mark}");
            }

            if (context.Response is not null || context.Stream is not null || context.Model is not null)
            {
                stale.Enqueue("a result or model of an earlier call");
            }

            context.Items["mark"] = context.Request.Id;
            contexts.AddOrUpdate(context, 1, (_, n) => n + 1);
            await next(context);
        });
        await server.ListenAsync(uri);
        await using var client = await MaasClient.ConnectAsync(uri);
        var model = await client.GetModelAsync("gaussian1d");

        for (int i = 0; i < 50; i++)
        {
            double x = i * 0.01;
            Assert.Equal(GaussianModel.LogDensityOf([x], [0.0], [1.0]), await model.LogDensityAsync([x]), 12);
        }

        Assert.Empty(stale);
        Assert.True(contexts.Count < 50, $"{contexts.Count} contexts for 50 sequential calls: none was reused");
    }

    [Fact]
    public async Task Concurrent_calls_with_reused_objects_each_get_their_own_answer()
    {
        string uri = $"inproc://reuse-concurrent-{Guid.NewGuid():N}";
        await using var server = new MaasServer();
        server.AddModel(GaussianModel.Create(1));
        await server.ListenAsync(uri);
        await using var client = await MaasClient.ConnectAsync(uri);
        var model = await client.GetModelAsync("gaussian1d");
        var timed = model.WithTimeout(TimeSpan.FromMinutes(1));

        // Every fourth call has a deadline, every seventh is cancelled before it is sent: calls that
        // are not reused are mixed with calls that are.
        var callers = Enumerable.Range(0, 8).Select(caller => Task.Run(async () =>
        {
            for (int i = 0; i < 100; i++)
            {
                double x = caller + (i * 1e-3);
                using var cancel = new CancellationTokenSource();
                if (i % 7 == 6)
                {
                    await cancel.CancelAsync();
                    await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await model.LogDensityAsync(DoubleMatrix.FromColumn(x), cancellationToken: cancel.Token));
                    continue;
                }

                using var y = await (i % 4 == 3 ? timed : model).LogDensityAsync(DoubleMatrix.FromColumn(x), cancellationToken: cancel.Token);
                Assert.Equal(GaussianModel.LogDensityOf([x], [0.0], [1.0]), y.Span[0], 12);
            }
        }));
        await Task.WhenAll(callers).WaitAsync(TimeSpan.FromMinutes(2));
    }
}
