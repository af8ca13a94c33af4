using Dataflow.Google.Core;

namespace Dataflow.Tests.Unit.Pipeline;

[Trait("Category", "Unit")]
/// <summary>The flow control the pipeline runs on (shared with the Pub/Sub clients), as the pipeline uses it.</summary>
public sealed class PipelineFlowControlTests
{
    [Fact]
    public async Task Acquire_waits_when_the_message_limit_is_reached_and_resumes_on_release()
    {
        var flow = new FlowController(maxCount: 2, maxBytes: 1000);
        await flow.AcquireAsync(10, TestContext.Current.CancellationToken);
        await flow.AcquireAsync(10, TestContext.Current.CancellationToken);

        var third = flow.AcquireAsync(10, TestContext.Current.CancellationToken).AsTask();
        Assert.False(third.IsCompleted);

        flow.Release(10);
        await third.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Equal(2, flow.OutstandingCount);
    }

    [Fact]
    public async Task Acquire_waits_when_the_byte_limit_would_be_exceeded()
    {
        var flow = new FlowController(maxCount: 100, maxBytes: 100);
        await flow.AcquireAsync(60, TestContext.Current.CancellationToken);

        var second = flow.AcquireAsync(60, TestContext.Current.CancellationToken).AsTask();
        Assert.False(second.IsCompleted);

        flow.Release(60);
        await second.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Equal(60, flow.OutstandingBytes);
    }

    [Fact]
    public async Task A_message_larger_than_the_byte_limit_is_admitted_alone()
    {
        var flow = new FlowController(maxCount: 100, maxBytes: 100);

        await flow.AcquireAsync(500, TestContext.Current.CancellationToken);

        Assert.Equal(500, flow.OutstandingBytes);
    }

    [Fact]
    public async Task Waiters_are_admitted_in_arrival_order()
    {
        var flow = new FlowController(maxCount: 1, maxBytes: 1000);
        await flow.AcquireAsync(1, TestContext.Current.CancellationToken);
        var first = flow.AcquireAsync(1, TestContext.Current.CancellationToken).AsTask();
        var second = flow.AcquireAsync(1, TestContext.Current.CancellationToken).AsTask();

        flow.Release(1);
        await first.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

        Assert.False(second.IsCompleted);
    }

    [Fact]
    public async Task A_cancelled_waiter_gives_up_its_place()
    {
        var flow = new FlowController(maxCount: 1, maxBytes: 1000);
        await flow.AcquireAsync(1, TestContext.Current.CancellationToken);
        using var cancel = new CancellationTokenSource();
        var waiting = flow.AcquireAsync(1, cancel.Token).AsTask();

        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        flow.Release(1);
        Assert.Equal(0, flow.OutstandingCount);
    }
}
