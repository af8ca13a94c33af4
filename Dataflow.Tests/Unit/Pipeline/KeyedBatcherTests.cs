using Dataflow.Pipeline;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dataflow.Tests.Unit.Pipeline;

[Trait("Category", "Unit")]
public sealed class KeyedBatcherTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);
    private readonly ManualTimeProvider _time = new(Start);
    private readonly RecordingSink<string> _sink = new();

    private KeyedBatcher<string> CreateBatcher(int batchSize, TimeSpan flushInterval, IDeadLetterSink? deadLetters = null) =>
        new(_sink, new BatchingOptions { BatchSize = batchSize, FlushInterval = flushInterval },
            new PipelineMetrics($"test-{Guid.NewGuid():N}"), NullLogger.Instance, deadLetters, _time);

    private static async Task<RecordingAckHandle> AddAsync(KeyedBatcher<string> batcher, string key, string id)
    {
        var (message, handle) = TestMessages.Create(id);
        await batcher.AddAsync(key, message, id, TestContext.Current.CancellationToken);
        return handle;
    }

    [Fact]
    public async Task A_key_reaching_the_batch_size_is_written_and_its_messages_acked()
    {
        await using var batcher = CreateBatcher(batchSize: 3, TimeSpan.FromMinutes(1));

        var handles = new[] { await AddAsync(batcher, "k", "1"), await AddAsync(batcher, "k", "2") };
        Assert.Empty(_sink.Writes);
        var third = await AddAsync(batcher, "k", "3");

        var write = Assert.Single(_sink.Writes);
        Assert.Equal("k", write.Key);
        Assert.Equal(["1", "2", "3"], write.Items.Select(i => i.Value));
        foreach (var handle in handles.Append(third))
        {
            Assert.Equal(MessageOutcome.Acked, await handle.Outcome);
        }
    }

    [Fact]
    public async Task Messages_are_not_acked_before_their_batch_is_written()
    {
        await using var batcher = CreateBatcher(batchSize: 10, TimeSpan.FromMinutes(1));

        var handle = await AddAsync(batcher, "k", "1");

        Assert.False(handle.Outcome.IsCompleted);
        Assert.Equal(1, batcher.PendingCount);
    }

    [Fact]
    public async Task Each_key_is_flushed_when_its_own_age_reaches_the_interval()
    {
        await using var batcher = CreateBatcher(batchSize: 100, TimeSpan.FromSeconds(60));
        var a = await AddAsync(batcher, "a", "a1");
        await _time.WaitForActiveTimersAsync(1);

        _time.Advance(TimeSpan.FromSeconds(30));
        var b = await AddAsync(batcher, "b", "b1");
        _time.Advance(TimeSpan.FromSeconds(31));

        var first = await _sink.NextWriteAsync();
        Assert.Equal("a", first.Key);
        Assert.Equal(MessageOutcome.Acked, await a.Outcome);
        await _time.WaitForActiveTimersAsync(1);
        Assert.False(b.Outcome.IsCompleted);

        _time.Advance(TimeSpan.FromSeconds(29));

        var second = await _sink.NextWriteAsync();
        Assert.Equal("b", second.Key);
        Assert.Equal(MessageOutcome.Acked, await b.Outcome);
    }

    [Fact]
    public async Task A_hot_key_does_not_postpone_a_cold_keys_flush()
    {
        await using var batcher = CreateBatcher(batchSize: 2, TimeSpan.FromSeconds(60));
        var cold = await AddAsync(batcher, "cold", "c1");
        await _time.WaitForActiveTimersAsync(1);

        for (var second = 0; second < 59; second++)
        {
            await AddAsync(batcher, "hot", $"h{second}");
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.False(cold.Outcome.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(MessageOutcome.Acked, await cold.Outcome.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));
        Assert.Contains(_sink.Writes, w => w.Key == "cold" && w.Items.Count == 1);
    }

    [Fact]
    public async Task Flush_all_writes_every_pending_key_and_acks_their_messages()
    {
        var batcher = CreateBatcher(batchSize: 100, TimeSpan.FromMinutes(1));
        var handles = new[] { await AddAsync(batcher, "a", "1"), await AddAsync(batcher, "b", "2"), await AddAsync(batcher, "a", "3") };

        await batcher.FlushAllAsync(TestContext.Current.CancellationToken);

        Assert.Equal(["a", "b"], _sink.Writes.Select(w => w.Key).Order());
        Assert.Equal(2, _sink.Writes.Single(w => w.Key == "a").Items.Count);
        foreach (var handle in handles)
        {
            Assert.Equal(MessageOutcome.Acked, await handle.Outcome);
        }

        await Assert.ThrowsAsync<ObjectDisposedException>(() => AddAsync(batcher, "a", "late"));
        await batcher.DisposeAsync();
    }

    [Fact]
    public async Task A_failed_write_nacks_every_message_of_the_batch()
    {
        _sink.Result = (_, _) => throw new IOException("upload failed");
        await using var batcher = CreateBatcher(batchSize: 2, TimeSpan.FromMinutes(1));

        var first = await AddAsync(batcher, "k", "1");
        var second = await AddAsync(batcher, "k", "2");

        Assert.Equal(MessageOutcome.Nacked, await first.Outcome);
        Assert.Equal(MessageOutcome.Nacked, await second.Outcome);
    }

    [Fact]
    public async Task Items_rejected_by_the_sink_are_dead_lettered_and_the_rest_acked()
    {
        _sink.Result = (_, _) => new BatchWriteResult([new BatchItemFailure(1, "bad row")]);
        var deadLetters = new RecordingDeadLetters();
        await using var batcher = CreateBatcher(batchSize: 3, TimeSpan.FromMinutes(1), deadLetters);

        var handles = new[] { await AddAsync(batcher, "k", "1"), await AddAsync(batcher, "k", "2"), await AddAsync(batcher, "k", "3") };

        Assert.Equal([("2", "bad row")], deadLetters.Received);
        foreach (var handle in handles)
        {
            Assert.Equal(MessageOutcome.Acked, await handle.Outcome);
        }
    }

    [Fact]
    public async Task Items_rejected_by_the_sink_are_nacked_without_a_dead_letter_destination()
    {
        _sink.Result = (_, _) => new BatchWriteResult([new BatchItemFailure(0, "bad row")]);
        await using var batcher = CreateBatcher(batchSize: 2, TimeSpan.FromMinutes(1));

        var bad = await AddAsync(batcher, "k", "1");
        var good = await AddAsync(batcher, "k", "2");

        Assert.Equal(MessageOutcome.Nacked, await bad.Outcome);
        Assert.Equal(MessageOutcome.Acked, await good.Outcome);
    }
}
