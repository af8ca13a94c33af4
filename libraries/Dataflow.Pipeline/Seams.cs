namespace Dataflow.Pipeline;

/// <summary>
/// Hands one received message to the pipeline. From the moment it is called the pipeline owns the message and
/// settles it; awaiting it is the backpressure (it completes only when the pipeline has room).
/// </summary>
public delegate ValueTask MessageDelivery(Message message, CancellationToken cancellationToken);

/// <summary>A source of messages (Pub/Sub subscription, MQTT subscription).</summary>
public interface IMessageConsumer
{
    /// <summary>
    /// Receives messages and passes each to <paramref name="deliver"/> until <paramref name="stoppingToken"/> is
    /// cancelled, then returns. Throws only for a failure the consumer cannot recover from.
    /// </summary>
    Task RunAsync(MessageDelivery deliver, CancellationToken stoppingToken);
}

/// <summary>A message to publish.</summary>
public sealed record OutgoingMessage(ReadOnlyMemory<byte> Data, IReadOnlyDictionary<string, string> Attributes);

/// <summary>A destination of messages (a Pub/Sub topic).</summary>
public interface IMessageProducer
{
    /// <summary>Publishes one message; completes when the destination accepted it, returning its server id.</summary>
    Task<string> PublishAsync(OutgoingMessage message, CancellationToken cancellationToken);
}

/// <summary>One transformed message waiting in a batch.</summary>
public readonly record struct BatchItem<T>(Message Message, T Value);

/// <summary>An item of a batch that the sink rejected while accepting the others.</summary>
public sealed record BatchItemFailure(int Index, string Reason);

/// <summary>Result of writing one batch: the items that failed individually (empty when all were written).</summary>
public sealed record BatchWriteResult(IReadOnlyList<BatchItemFailure> Failures)
{
    public static BatchWriteResult Success { get; } = new([]);
}

/// <summary>Writes a batch of transformed messages (Cloud Storage object, BigQuery insert).</summary>
public interface IBatchSink<T>
{
    /// <summary>
    /// Writes the batch. Throwing fails the whole batch (every message is nacked); a result with failures
    /// fails only those items (dead-lettered when a dead-letter sink is configured, otherwise nacked).
    /// </summary>
    Task<BatchWriteResult> WriteBatchAsync(string batchKey, IReadOnlyList<BatchItem<T>> items, CancellationToken cancellationToken);
}

/// <summary>Receives messages that cannot be processed and must not be redelivered forever.</summary>
public interface IDeadLetterSink
{
    Task DeadLetterAsync(Message message, string reason, CancellationToken cancellationToken);
}

/// <summary>Result of a transform: a value to process, or skip (the message is acked without processing).</summary>
public readonly record struct TransformResult<T>(T? Value, bool IsSkip);

/// <summary>Creates <see cref="TransformResult{T}"/> values.</summary>
public static class TransformResult
{
    public static TransformResult<T> Skip<T>() => new(default, true);

    public static TransformResult<T> Of<T>(T value) => new(value, false);
}

/// <summary>Turns a received message into the value the processor works on. Throwing nacks the message.</summary>
public interface IMessageTransformer<T>
{
    ValueTask<TransformResult<T>> TransformAsync(Message message, CancellationToken cancellationToken);
}

/// <summary>What the processor did with a message.</summary>
public enum ProcessOutcome
{
    /// <summary>Processed; the message is acked.</summary>
    Done,

    /// <summary>Sent to a dead-letter destination; the message is acked and counted as dead-lettered.</summary>
    DeadLettered,

    /// <summary>Not processed now; the message is nacked so it is redelivered.</summary>
    Retry,
}

/// <summary>Processes one transformed message (publish, insert one). Throwing nacks the message.</summary>
public interface IMessageProcessor<T>
{
    ValueTask<ProcessOutcome> ProcessAsync(Message message, T value, CancellationToken cancellationToken);
}

/// <summary>Chooses the batch a transformed message belongs to.</summary>
public interface IBatchKeySelector<T>
{
    string GetBatchKey(Message message, T value);
}
