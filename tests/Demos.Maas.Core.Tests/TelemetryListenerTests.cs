using System.Diagnostics.Metrics;
using Demos.Maas.Middleware;
using Demos.Maas.Protocol;

namespace Demos.Maas.Core.Tests;

/// <summary>Runs alone: meter listeners are process-wide, and another test's would make every call observed.</summary>
[CollectionDefinition(nameof(TelemetryAlone), DisableParallelization = true)]
public sealed class TelemetryAlone;

/// <summary>
/// The telemetry middleware records a call only when something listens, deciding once per call:
/// a listener that attaches while a call runs never sees a call end that it did not see start.
/// </summary>
[Collection(nameof(TelemetryAlone))]
public sealed class TelemetryListenerTests
{
    [Fact]
    public async Task A_listener_that_attaches_during_a_call_sees_the_in_flight_count_balanced_and_later_calls_whole()
    {
        string name = $"telemetry-{Guid.NewGuid():N}";
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var pipeline = TelemetryMiddleware.Create()(async context =>
        {
            entered.TrySetResult();
            await gate.Task;
            context.Response = new MaasResponse();
        });
        MaasCallContext Call() => new(new MaasRequest { Operation = Operation.GetParameters, Model = name }, isServer: true, CancellationToken.None);

        var first = pipeline(Call()).AsTask();
        await entered.Task.WaitAsync(TimeSpan.FromMinutes(1));

        long active = 0, calls = 0;
        using var listener = Listen((instrument, value, tags, _) =>
        {
            if (instrument == MaasTelemetry.Active)
            {
                Interlocked.Add(ref active, value);
            }
            else if (instrument == MaasTelemetry.Calls)
            {
                foreach (var tag in tags)
                {
                    if (tag.Key == "maas.model" && tag.Value as string == name)
                    {
                        Interlocked.Add(ref calls, value);
                    }
                }
            }
        });

        gate.SetResult();
        await first.WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(0, Interlocked.Read(ref active));
        Assert.Equal(0, Interlocked.Read(ref calls));

        await pipeline(Call()).AsTask().WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(0, Interlocked.Read(ref active));
        Assert.Equal(1, Interlocked.Read(ref calls));
    }

    [Fact]
    public async Task A_call_whose_answer_goes_first_is_recorded_once_when_its_answer_has_gone_and_a_failed_one_at_once()
    {
        string name = $"telemetry-{Guid.NewGuid():N}";
        long active = 0, calls = 0, errors = 0;
        using var listener = Listen((instrument, value, tags, _) =>
        {
            if (instrument == MaasTelemetry.Active)
            {
                Interlocked.Add(ref active, value);
            }
            else if ((instrument == MaasTelemetry.Calls || instrument == MaasTelemetry.Errors) && tags.ToArray().Any(t => t.Key == "maas.model" && t.Value as string == name))
            {
                Interlocked.Add(ref instrument == MaasTelemetry.Calls ? ref calls : ref errors, value);
            }
        });

        var pipeline = TelemetryMiddleware.Create()(context =>
        {
            if (context.Request.Operation == Operation.UpdateParameters)
            {
                throw new MaasException(MaasErrorCode.InvalidArgument, "refused");
            }

            context.Response = new MaasResponse();
            return ValueTask.CompletedTask;
        });
        MaasCallContext Call(Operation operation) => new(new MaasRequest { Operation = operation, Model = name }, isServer: true, CancellationToken.None) { AnswersFirst = true };

        var answered = Call(Operation.GetParameters);
        await pipeline(answered);
        Assert.Equal((1, 0), (Interlocked.Read(ref active), Interlocked.Read(ref calls)));
        answered.Answered();
        answered.Answered();
        Assert.Equal((0, 1), (Interlocked.Read(ref active), Interlocked.Read(ref calls)));

        // A context that is reset for its next call records what its last one left first.
        var reused = Call(Operation.GetParameters);
        await pipeline(reused);
        reused.Reset(new MaasRequest { Operation = Operation.GetParameters, Model = name }, CancellationToken.None);
        Assert.Equal((0, 2), (Interlocked.Read(ref active), Interlocked.Read(ref calls)));
        Assert.False(reused.AnswersFirst);

        // A failed call has no answer to wait for.
        await Assert.ThrowsAsync<MaasException>(async () => await pipeline(Call(Operation.UpdateParameters)));
        Assert.Equal((0, 3, 1), (Interlocked.Read(ref active), Interlocked.Read(ref calls), Interlocked.Read(ref errors)));

        // Without AnswersFirst, the call is recorded before the pipeline returns.
        await pipeline(new MaasCallContext(new MaasRequest { Operation = Operation.GetParameters, Model = name }, isServer: true, CancellationToken.None));
        Assert.Equal((0, 4), (Interlocked.Read(ref active), Interlocked.Read(ref calls)));
    }

    // A started listener on every instrument of the Demos.Maas meter, handing each long measurement to measured.
    private static MeterListener Listen(MeasurementCallback<long> measured)
    {
        var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == MaasTelemetry.Name)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback(measured);
        listener.Start();
        return listener;
    }
}
