using Dataflow.Google.Core;

namespace Dataflow.Tests.Unit.Google;

[Trait("Category", "Unit")]
public sealed class FlowControllerTests
{
    [Fact]
    public async Task Acquire_waits_at_the_count_limit_and_resumes_in_order_on_release()
    {
        var flow = new FlowController(maxCount: 2, maxBytes: 1000);
        await flow.AcquireAsync(10, TestContext.Current.CancellationToken);
        await flow.AcquireAsync(10, TestContext.Current.CancellationToken);

        var third = flow.AcquireAsync(10, TestContext.Current.CancellationToken).AsTask();
        var fourth = flow.AcquireAsync(10, TestContext.Current.CancellationToken).AsTask();
        Assert.False(third.IsCompleted);

        flow.Release(10);
        await third;
        Assert.False(fourth.IsCompleted);
        flow.Release(10);
        await fourth;
        Assert.Equal(2, flow.OutstandingCount);
    }

    [Fact]
    public async Task Acquire_waits_at_the_byte_limit()
    {
        var flow = new FlowController(maxCount: 100, maxBytes: 100);
        await flow.AcquireAsync(80, TestContext.Current.CancellationToken);

        var next = flow.AcquireAsync(30, TestContext.Current.CancellationToken).AsTask();
        Assert.False(next.IsCompleted);

        flow.Release(80);
        await next;
        Assert.Equal(30, flow.OutstandingBytes);
    }

    [Fact]
    public async Task Oversized_item_is_admitted_when_nothing_is_outstanding()
    {
        var flow = new FlowController(maxCount: 10, maxBytes: 100);

        await flow.AcquireAsync(500, TestContext.Current.CancellationToken);

        Assert.Equal(500, flow.OutstandingBytes);
    }

    [Fact]
    public async Task Cancelled_waiter_is_removed_and_does_not_block_later_ones()
    {
        var flow = new FlowController(maxCount: 1, maxBytes: 1000);
        await flow.AcquireAsync(1, TestContext.Current.CancellationToken);
        using var cts = new CancellationTokenSource();
        var cancelled = flow.AcquireAsync(1, cts.Token).AsTask();
        var later = flow.AcquireAsync(1, TestContext.Current.CancellationToken).AsTask();

        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        flow.Release(1);
        await later;

        Assert.Equal(1, flow.OutstandingCount);
    }

    [Fact]
    public async Task Room_probe_takes_nothing_and_waits_while_full()
    {
        var flow = new FlowController(maxCount: 1, maxBytes: 1000);
        await flow.WaitForRoomAsync(TestContext.Current.CancellationToken);
        // Two messages arrived for a one-slot reservation: both count.
        flow.CompleteReservation(flow.TryReserve(1), usedCount: 2, usedBytes: 10);

        var probe = flow.WaitForRoomAsync(TestContext.Current.CancellationToken).AsTask();
        flow.Release(5);
        Assert.False(probe.IsCompleted);
        flow.Release(5);
        await probe;

        Assert.Equal(0, flow.OutstandingCount);
    }

    [Fact]
    public void Reservations_of_concurrent_pullers_never_exceed_the_count_limit()
    {
        var flow = new FlowController(maxCount: 5, maxBytes: 1000);

        var first = flow.TryReserve(4);
        var second = flow.TryReserve(4);
        var third = flow.TryReserve(4);
        flow.CompleteReservation(first, usedCount: 2, usedBytes: 20);

        Assert.Equal([4, 1, 0], new[] { first, second, third });
        Assert.Equal(3, flow.OutstandingCount);
        Assert.Equal(20, flow.OutstandingBytes);
        Assert.Equal(2, flow.TryReserve(10));
    }

    [Fact]
    public async Task Acquiring_with_room_allocates_nothing()
    {
        var flow = new FlowController(maxCount: 10, maxBytes: 1000);
        using var cts = new CancellationTokenSource();
        await flow.AcquireAsync(1, cts.Token);
        flow.Release(1);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            await flow.AcquireAsync(1, cts.Token);
            flow.Release(1);
        }

        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
    }
}
