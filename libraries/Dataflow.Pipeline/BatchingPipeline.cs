using Microsoft.Extensions.Logging;

namespace Dataflow.Pipeline;

/// <summary>
/// Transforms each message and adds it to a per-key batch of a <see cref="KeyedBatcher{T}"/>; batches are written
/// by size, by per-key age and on shutdown, and their messages acked after the write.
/// </summary>
public sealed class BatchingPipeline<T> : MessagePipeline<T>
{
    private readonly IBatchKeySelector<T> _keySelector;
    private readonly KeyedBatcher<T> _batcher;

    public BatchingPipeline(
        string name,
        IMessageConsumer consumer,
        IMessageTransformer<T> transformer,
        IBatchKeySelector<T> keySelector,
        IBatchSink<T> sink,
        PipelineOptions options,
        BatchingOptions batching,
        PipelineMetrics metrics,
        ILogger logger,
        IDeadLetterSink? deadLetters = null,
        TimeProvider? timeProvider = null)
        : base(name, consumer, transformer, options, metrics, logger)
    {
        ArgumentNullException.ThrowIfNull(keySelector);
        _keySelector = keySelector;
        _batcher = new KeyedBatcher<T>(sink, batching, metrics, logger, deadLetters, timeProvider, HardStopToken);
    }

    /// <summary>Messages waiting in batches.</summary>
    public int PendingInBatches => _batcher.PendingCount;

    protected override async ValueTask HandleAsync(Message message, T value, long startedTimestamp, CancellationToken cancellationToken)
    {
        await _batcher.AddAsync(_keySelector.GetBatchKey(message, value), message, value, cancellationToken);
        RecordProcessed(startedTimestamp);
    }

    protected override Task OnDrainedAsync(CancellationToken cancellationToken) => _batcher.FlushAllAsync(cancellationToken);

    protected override async ValueTask DisposeCoreAsync()
    {
        await _batcher.DisposeAsync();
        await base.DisposeCoreAsync();
    }
}

/// <summary>Puts every message into one batch (a plain size/age batcher).</summary>
public sealed class SingleBatchKey<T> : IBatchKeySelector<T>
{
    public string GetBatchKey(Message message, T value) => string.Empty;
}
