using Dataflow.Pipeline;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dataflow.Tests.Unit.Pipeline;

[Trait("Category", "Unit")]
public sealed class BatchingPipelineTests
{
    private readonly QueueConsumer _consumer = new();
    private readonly RecordingSink<string> _sink = new();

    private sealed class KeyByPrefix : IBatchKeySelector<string>
    {
        public string GetBatchKey(Message message, string value) => value[..1];
    }

    private BatchingPipeline<string> Create(int batchSize, TimeSpan flushInterval) =>
        new("batching-test", _consumer,
            new DelegateTransformer<string>(m => m.Id.StartsWith('s') ? TransformResult.Skip<string>() : TransformResult.Of(m.Id)),
            new KeyByPrefix(), _sink, new PipelineOptions { Workers = 3 },
            new BatchingOptions { BatchSize = batchSize, FlushInterval = flushInterval },
            new PipelineMetrics($"test-{Guid.NewGuid():N}"), NullLogger.Instance);

    private RecordingAckHandle Send(string id)
    {
        var (message, handle) = TestMessages.Create(id);
        _consumer.Enqueue(message);
        return handle;
    }

    [Fact]
    public async Task Full_batches_are_written_during_the_run_and_the_rest_on_shutdown()
    {
        var pipeline = Create(batchSize: 5, TimeSpan.FromHours(1));
        await pipeline.StartAsync(TestContext.Current.CancellationToken);
        var handles = Enumerable.Range(0, 7).Select(i => Send($"a{i}")).Append(Send("b0")).Append(Send("skip")).ToList();

        var first = await _sink.NextWriteAsync();
        Assert.Equal("a", first.Key);
        Assert.Equal(5, first.Items.Count);

        while (pipeline.PendingInBatches < 3)
        {
            await Task.Delay(5, TestContext.Current.CancellationToken);
        }

        await pipeline.StopAsync(TestContext.Current.CancellationToken);

        Assert.Equal(3, _sink.Writes.Count);
        Assert.Equal(2, _sink.Writes.Where(w => w.Key == "a").Skip(1).Single().Items.Count);
        Assert.Single(_sink.Writes.Single(w => w.Key == "b").Items);
        Assert.Equal(
            Enumerable.Range(0, 7).Select(i => $"a{i}").Append("b0").Order(),
            _sink.Writes.SelectMany(w => w.Items.Select(i => i.Value)).Order());
        foreach (var handle in handles)
        {
            Assert.True(handle.Outcome.IsCompleted);
            Assert.Equal(MessageOutcome.Acked, await handle.Outcome);
            Assert.Equal(1, handle.Settlements);
        }

        await pipeline.DisposeAsync();
    }

    [Fact]
    public async Task A_failed_shutdown_flush_nacks_so_nothing_is_lost()
    {
        _sink.Result = (_, _) => throw new HttpRequestException("storage down");
        var pipeline = Create(batchSize: 100, TimeSpan.FromHours(1));
        await pipeline.StartAsync(TestContext.Current.CancellationToken);
        var handles = Enumerable.Range(0, 3).Select(i => Send($"a{i}")).ToList();
        while (pipeline.PendingInBatches < 3)
        {
            await Task.Delay(5, TestContext.Current.CancellationToken);
        }

        await pipeline.StopAsync(TestContext.Current.CancellationToken);

        foreach (var handle in handles)
        {
            Assert.Equal(MessageOutcome.Nacked, await handle.Outcome);
        }

        await pipeline.DisposeAsync();
    }
}
