using Demos.Maas.Client;
using Demos.Maas.Protocol;
using Demos.Maas.Transport;

namespace Demos.Maas.Core.Tests;

/// <summary>
/// Where a unary call's caller resumes when the connection's input can resume callers on its
/// receiving thread: the outcome is settled once, the first of answer, failure and cancellation.
/// </summary>
public sealed class PendingCallDispatchTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    // The tests choose whether the thread pool has work waiting (the real pool's queue depends on
    // whatever else runs in the process).
    private static readonly Func<bool> IdlePool = () => false;

    [Fact]
    public async Task An_answer_the_receiver_takes_completes_only_when_the_receiver_runs_it()
    {
        var receiver = new RecordingReceiver(accepts: true);
        var call = new PendingCall(7, streaming: false, inlineCompletion: false, receiver, IdlePool);
        call.Complete(new MaasResponse { Id = 7, Y = DoubleMatrix.FromColumn(1.5) });

        var taken = Assert.Single(receiver.Taken);
        Assert.False(call.Response.IsCompleted);
        int thread = -1;
        var resumed = call.Response.ContinueWith(_ => thread = Environment.CurrentManagedThreadId, TaskContinuationOptions.ExecuteSynchronously);

        taken.Execute();
        Assert.True(resumed.IsCompleted);
        Assert.Equal(Environment.CurrentManagedThreadId, thread);
        Assert.Equal(1.5, (await call.Response).Y!.Span[0]);
    }

    [Fact]
    public async Task An_answer_the_receiver_refuses_resumes_the_caller_on_the_thread_pool()
    {
        var receiver = new RecordingReceiver(accepts: false);
        var call = new PendingCall(8, streaming: false, inlineCompletion: false, receiver, IdlePool);
        int completingThread = Environment.CurrentManagedThreadId;
        var resumedOn = call.Response.ContinueWith(_ => (Environment.CurrentManagedThreadId, Thread.CurrentThread.IsThreadPoolThread), TaskContinuationOptions.ExecuteSynchronously);

        call.Complete(new MaasResponse { Id = 8, Y = DoubleMatrix.FromColumn(2.5) });

        Assert.Single(receiver.Offered);
        var (thread, pooled) = await resumedOn.WaitAsync(Patience);
        Assert.True(pooled);
        Assert.NotEqual(completingThread, thread);
        Assert.Equal(2.5, (await call.Response).Y!.Span[0]);
    }

    [Fact]
    public async Task While_the_thread_pool_has_work_waiting_the_caller_queues_behind_it()
    {
        var receiver = new RecordingReceiver(accepts: true);
        bool poolBusy = true;
        var call = new PendingCall(16, streaming: false, inlineCompletion: false, receiver, () => poolBusy);
        var resumedOn = call.Response.ContinueWith(_ => Thread.CurrentThread.IsThreadPoolThread, TaskContinuationOptions.ExecuteSynchronously);

        call.Complete(new MaasResponse { Id = 16, Y = DoubleMatrix.FromColumn(7.5) });

        Assert.Empty(receiver.Offered);
        Assert.True(await resumedOn.WaitAsync(Patience));
        Assert.Equal(7.5, (await call.Response).Y!.Span[0]);

        // Once the pool has caught up, the next lone answer is offered to the receiver again.
        poolBusy = false;
        var next = new PendingCall(17, streaming: false, inlineCompletion: false, receiver, () => poolBusy);
        next.Complete(new MaasResponse { Id = 17, Y = DoubleMatrix.FromColumn(8.5) });
        Assert.Single(receiver.Taken).Execute();
        Assert.Equal(8.5, (await next.Response).Y!.Span[0]);
    }

    [Fact]
    public async Task A_failure_and_a_cancellation_go_to_the_thread_pool_never_to_the_receiver()
    {
        var receiver = new RecordingReceiver(accepts: true);
        var failed = new PendingCall(9, streaming: false, inlineCompletion: false, receiver, IdlePool);
        failed.Fail(new MaasException(MaasErrorCode.Unavailable, "gone"));
        var error = await Assert.ThrowsAsync<MaasException>(() => failed.Response.WaitAsync(Patience));
        Assert.Equal(MaasErrorCode.Unavailable, error.Code);

        using var source = new CancellationTokenSource();
        source.Cancel();
        var cancelled = new PendingCall(10, streaming: false, inlineCompletion: false, receiver, IdlePool);
        cancelled.Cancelled(source.Token);
        var stopped = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.Response.WaitAsync(Patience));
        Assert.Equal(source.Token, stopped.CancellationToken);
        Assert.True(cancelled.Response.IsCanceled);

        Assert.Empty(receiver.Offered);
    }

    [Fact]
    public async Task An_error_answer_is_resumed_by_the_receiver_like_a_result()
    {
        var receiver = new RecordingReceiver(accepts: true);
        var call = new PendingCall(11, streaming: false, inlineCompletion: false, receiver, IdlePool);
        call.Complete(new ErrorMessage { Id = 11, Code = MaasErrorCode.InvalidArgument, Message = "bad x" });

        Assert.Single(receiver.Taken).Execute();
        var error = await Assert.ThrowsAsync<MaasException>(() => call.Response);
        Assert.Equal(MaasErrorCode.InvalidArgument, error.Code);
    }

    [Fact]
    public async Task The_first_outcome_wins_and_a_later_answer_is_disposed()
    {
        var receiver = new RecordingReceiver(accepts: true);
        var call = new PendingCall(12, streaming: false, inlineCompletion: false, receiver, IdlePool);
        call.Fail(new MaasException(MaasErrorCode.DeadlineExceeded, "late"));
        var late = DoubleMatrix.FromColumn(3.5);
        call.Complete(new MaasResponse { Id = 12, Y = late });

        Assert.Empty(receiver.Offered);
        Assert.Throws<ObjectDisposedException>(() => late.Span[0]);
        var error = await Assert.ThrowsAsync<MaasException>(() => call.Response.WaitAsync(Patience));
        Assert.Equal(MaasErrorCode.DeadlineExceeded, error.Code);

        // And the other way round: the answer was settled (taken by the receiver, not yet run) when
        // the connection failed; the caller still gets the answer.
        var answered = new PendingCall(13, streaming: false, inlineCompletion: false, receiver, IdlePool);
        answered.Complete(new MaasResponse { Id = 13, Y = DoubleMatrix.FromColumn(4.5) });
        answered.Fail(new MaasException(MaasErrorCode.Unavailable, "closed"));
        receiver.Taken[^1].Execute();
        Assert.Equal(4.5, (await answered.Response).Y!.Span[0]);
    }

    [Fact]
    public void Inline_completions_and_inputs_without_a_receiver_complete_at_once_as_before()
    {
        var inline = new PendingCall(14, streaming: false, inlineCompletion: true, new RecordingReceiver(accepts: true));
        inline.Complete(new MaasResponse { Id = 14, Y = DoubleMatrix.FromColumn(5.5) });
        Assert.True(inline.Response.IsCompletedSuccessfully);

        var plain = new PendingCall(15, streaming: false, inlineCompletion: false);
        plain.Complete(new MaasResponse { Id = 15, Y = DoubleMatrix.FromColumn(6.5) });
        Assert.True(plain.Response.IsCompletedSuccessfully);
    }

    private sealed class RecordingReceiver(bool accepts) : IReceiverResumption
    {
        public List<IThreadPoolWorkItem> Offered { get; } = [];

        public List<IThreadPoolWorkItem> Taken { get; } = [];

        public bool TryResume(IThreadPoolWorkItem work)
        {
            Offered.Add(work);
            if (accepts)
            {
                Taken.Add(work);
            }

            return accepts;
        }
    }
}
