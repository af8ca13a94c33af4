using System.Diagnostics.Metrics;
using Dataflow.Pipeline;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dataflow.Tests.Unit.Pipeline;

[Trait("Category", "Unit")]
public sealed class StreamingPipelineTests
{
    private readonly QueueConsumer _consumer = new();
    private readonly string _name = $"test-{Guid.NewGuid():N}";

    private StreamingPipeline<string> Create(
        Func<Message, TransformResult<string>> transform,
        Func<Message, string, CancellationToken, Task<ProcessOutcome>> process,
        PipelineOptions? options = null) =>
        new(_name, _consumer, new DelegateTransformer<string>(transform), new DelegateProcessor<string>(process),
            options ?? new PipelineOptions { Workers = 2 }, new PipelineMetrics(_name), NullLogger.Instance);

    private static TransformResult<string> Identity(Message message) => TransformResult.Of(message.Id);

    private RecordingAckHandle Send(string id)
    {
        var (message, handle) = TestMessages.Create(id);
        _consumer.Enqueue(message);
        return handle;
    }

    private static Task<MessageOutcome> OutcomeOf(RecordingAckHandle handle) =>
        handle.Outcome.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

    [Fact]
    public async Task A_processed_message_is_acked()
    {
        var processed = new List<string>();
        await using var pipeline = Create(Identity, (_, value, _) => { lock (processed) { processed.Add(value); } return Task.FromResult(ProcessOutcome.Done); });
        await pipeline.StartAsync(TestContext.Current.CancellationToken);

        var handle = Send("m1");

        Assert.Equal(MessageOutcome.Acked, await OutcomeOf(handle));
        Assert.Equal(["m1"], processed);
    }

    [Fact]
    public async Task A_transform_error_nacks_without_processing()
    {
        var processed = 0;
        await using var pipeline = Create(_ => throw new FormatException("bad"), (_, _, _) => { processed++; return Task.FromResult(ProcessOutcome.Done); });
        await pipeline.StartAsync(TestContext.Current.CancellationToken);

        Assert.Equal(MessageOutcome.Nacked, await OutcomeOf(Send("m1")));
        Assert.Equal(0, processed);
    }

    [Fact]
    public async Task A_skipped_message_is_acked_without_processing()
    {
        var processed = 0;
        await using var pipeline = Create(_ => TransformResult.Skip<string>(), (_, _, _) => { processed++; return Task.FromResult(ProcessOutcome.Done); });
        await pipeline.StartAsync(TestContext.Current.CancellationToken);

        Assert.Equal(MessageOutcome.Acked, await OutcomeOf(Send("m1")));
        Assert.Equal(0, processed);
    }

    [Fact]
    public async Task A_processing_error_nacks()
    {
        await using var pipeline = Create(Identity, (_, _, _) => throw new HttpRequestException("unavailable"));
        await pipeline.StartAsync(TestContext.Current.CancellationToken);

        Assert.Equal(MessageOutcome.Nacked, await OutcomeOf(Send("m1")));
    }

    [Fact]
    public async Task Retry_outcome_nacks_and_dead_lettered_outcome_acks()
    {
        await using var pipeline = Create(Identity, (m, _, _) => Task.FromResult(m.Id == "retry" ? ProcessOutcome.Retry : ProcessOutcome.DeadLettered));
        await pipeline.StartAsync(TestContext.Current.CancellationToken);

        Assert.Equal(MessageOutcome.Nacked, await OutcomeOf(Send("retry")));
        Assert.Equal(MessageOutcome.Acked, await OutcomeOf(Send("dead")));
    }

    [Fact]
    public async Task Stop_drains_buffered_messages_before_returning()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var pipeline = Create(Identity, async (_, _, _) => { await release.Task; return ProcessOutcome.Done; }, new PipelineOptions { Workers = 1 });
        await pipeline.StartAsync(TestContext.Current.CancellationToken);
        var handles = Enumerable.Range(0, 5).Select(i => Send($"m{i}")).ToList();
        while (Volatile.Read(ref _consumer.Delivered) < 5)
        {
            await Task.Delay(5, TestContext.Current.CancellationToken);
        }

        var stopping = pipeline.StopAsync(TestContext.Current.CancellationToken);
        Assert.False(stopping.IsCompleted);
        release.SetResult();
        await stopping;

        foreach (var handle in handles)
        {
            Assert.True(handle.Outcome.IsCompleted);
            Assert.Equal(MessageOutcome.Acked, await handle.Outcome);
        }

        Assert.Equal(0, pipeline.OutstandingMessages);
        await pipeline.DisposeAsync();
    }

    [Fact]
    public async Task Work_still_running_at_the_shutdown_timeout_is_cancelled_and_nacked()
    {
        var pipeline = Create(
            Identity,
            async (_, _, ct) => { await Task.Delay(Timeout.Infinite, ct); return ProcessOutcome.Done; },
            new PipelineOptions { Workers = 1, ShutdownTimeout = TimeSpan.FromMilliseconds(200) });
        await pipeline.StartAsync(TestContext.Current.CancellationToken);
        var stuck = Send("stuck");
        var queued = Send("queued");
        while (Volatile.Read(ref _consumer.Delivered) < 2)
        {
            await Task.Delay(5, TestContext.Current.CancellationToken);
        }

        await pipeline.StopAsync(TestContext.Current.CancellationToken);

        Assert.Equal(MessageOutcome.Nacked, await OutcomeOf(stuck));
        Assert.Equal(MessageOutcome.Nacked, await OutcomeOf(queued));
        await pipeline.DisposeAsync();
    }

    [Fact]
    public async Task After_stop_the_consumer_delivers_nothing_more()
    {
        var pipeline = Create(Identity, (_, _, _) => Task.FromResult(ProcessOutcome.Done));
        await pipeline.StartAsync(TestContext.Current.CancellationToken);
        await pipeline.StopAsync(TestContext.Current.CancellationToken);

        var late = Send("late");

        Assert.False(late.Outcome.IsCompleted);
        Assert.Equal(0, Volatile.Read(ref _consumer.Delivered));
        await pipeline.Completion;
        await pipeline.DisposeAsync();
    }

    [Fact]
    public async Task Flow_control_holds_the_consumer_at_the_outstanding_limit()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var pipeline = Create(
            Identity,
            async (_, _, _) => { await release.Task; return ProcessOutcome.Done; },
            new PipelineOptions { Workers = 1, MaxOutstandingMessages = 3, BufferSize = 100 });
        await pipeline.StartAsync(TestContext.Current.CancellationToken);
        var handles = Enumerable.Range(0, 6).Select(i => Send($"m{i}")).ToList();
        while (pipeline.OutstandingMessages < 3)
        {
            await Task.Delay(5, TestContext.Current.CancellationToken);
        }

        Assert.True(Volatile.Read(ref _consumer.Delivered) <= 3);
        Assert.Equal(3, pipeline.OutstandingMessages);
        Assert.All(handles, h => Assert.False(h.Outcome.IsCompleted));

        release.SetResult();
        foreach (var handle in handles)
        {
            Assert.Equal(MessageOutcome.Acked, await OutcomeOf(handle));
        }
    }

    [Fact]
    public async Task Metrics_count_received_acked_nacked_and_skipped_per_pipeline()
    {
        var counts = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == PipelineMetrics.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "pipeline" && (string?)tag.Value == _name)
                {
                    lock (counts)
                    {
                        counts[instrument.Name] = counts.GetValueOrDefault(instrument.Name) + value;
                    }
                }
            }
        });
        listener.Start();
        await using var pipeline = Create(
            m => m.Id == "skip" ? TransformResult.Skip<string>() : TransformResult.Of(m.Id),
            (m, _, _) => m.Id == "fail" ? throw new InvalidOperationException("x") : Task.FromResult(ProcessOutcome.Done));
        await pipeline.StartAsync(TestContext.Current.CancellationToken);

        await OutcomeOf(Send("ok"));
        await OutcomeOf(Send("skip"));
        await OutcomeOf(Send("fail"));
        while (pipeline.OutstandingMessages > 0)
        {
            await Task.Delay(5, TestContext.Current.CancellationToken);
        }

        lock (counts)
        {
            Assert.Equal(3, counts["dataflow.pipeline.messages.received"]);
            Assert.Equal(2, counts["dataflow.pipeline.messages.acked"]);
            Assert.Equal(1, counts["dataflow.pipeline.messages.nacked"]);
            Assert.Equal(1, counts["dataflow.pipeline.messages.skipped"]);
            Assert.Equal(0, counts["dataflow.pipeline.messages.in_flight"]);
        }
    }
}
