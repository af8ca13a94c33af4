using Microsoft.Extensions.Logging;

namespace Dataflow.Pipeline;

/// <summary>
/// Processes each message on its own: transform → process (publish, insert one) → ack/nack. A worker only starts
/// the processing: when it has to wait (for Pub/Sub to accept a publish, for a lookup), the worker goes on with the
/// next message and the message is settled when its processing completes. So a batching publisher sees many
/// messages at once instead of one per worker; flow control (<see cref="PipelineOptions.MaxOutstandingMessages"/>
/// and bytes) bounds how many are in progress, and a stop waits for them within the shutdown timeout.
/// </summary>
public sealed class StreamingPipeline<T>(
    string name,
    IMessageConsumer consumer,
    IMessageTransformer<T> transformer,
    IMessageProcessor<T> processor,
    PipelineOptions options,
    PipelineMetrics metrics,
    ILogger logger)
    : MessagePipeline<T>(name, consumer, transformer, options, metrics, logger)
{
    private readonly TaskCompletionSource _handled = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // One count held by the pipeline until its workers finished, plus one per processing still waiting.
    private int _inProgress = 1;

    protected override ValueTask HandleAsync(Message message, T value, long startedTimestamp, CancellationToken cancellationToken)
    {
        var processing = processor.ProcessAsync(message, value, cancellationToken);
        if (processing.IsCompleted)
        {
            return SettleAsync(message, processing, startedTimestamp);
        }

        // Owned: counted here, awaited by WhenHandledAsync on stop; it never throws.
        Interlocked.Increment(ref _inProgress);
        _ = CompleteAsync(message, processing, startedTimestamp);
        return ValueTask.CompletedTask;
    }

    protected override Task WhenHandledAsync()
    {
        Release();
        return _handled.Task;
    }

    private async ValueTask SettleAsync(Message message, ValueTask<ProcessOutcome> processing, long startedTimestamp)
    {
        await SettleAsync(message, await processing);
        RecordProcessed(startedTimestamp);
    }

    // Inlines SettleAsync: one state machine per waiting message instead of two.
    private async Task CompleteAsync(Message message, ValueTask<ProcessOutcome> processing, long startedTimestamp)
    {
        try
        {
            await SettleAsync(message, await processing);
            RecordProcessed(startedTimestamp);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            await ProcessingFailedAsync(message, ex);
            RecordProcessed(startedTimestamp);
        }
        finally
        {
            Release();
        }
    }

    private ValueTask SettleAsync(Message message, ProcessOutcome outcome)
    {
        switch (outcome)
        {
            case ProcessOutcome.Done:
                return AckAsync(message);
            case ProcessOutcome.DeadLettered:
                Metrics.DeadLettered();
                return AckAsync(message);
            default:
                return NackAsync(message);
        }
    }

    private void Release()
    {
        if (Interlocked.Decrement(ref _inProgress) == 0)
        {
            _handled.TrySetResult();
        }
    }
}
