using Microsoft.Extensions.Logging;

namespace Dataflow.Pipeline;

/// <summary>Processes each message on its own: transform → process (publish, insert one) → ack/nack.</summary>
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
    protected override async ValueTask HandleAsync(Message message, T value, CancellationToken cancellationToken)
    {
        var outcome = await processor.ProcessAsync(message, value, cancellationToken);
        switch (outcome)
        {
            case ProcessOutcome.Done:
                await AckAsync(message);
                break;
            case ProcessOutcome.DeadLettered:
                Metrics.DeadLettered();
                await AckAsync(message);
                break;
            default:
                await NackAsync(message);
                break;
        }
    }
}
