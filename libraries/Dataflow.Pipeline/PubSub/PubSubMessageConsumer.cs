using Dataflow.Google.PubSub;
using Microsoft.Extensions.Logging;

namespace Dataflow.Pipeline.PubSub;

/// <summary>
/// Consumes a Pub/Sub subscription through a <see cref="PubSubSubscriber"/> (concurrent pulls, lease renewal,
/// batched acks). On stop it stops pulling and nacks what was pulled but not yet handed to the pipeline; the
/// subscriber keeps sending the pipeline's acks until it is disposed (after the pipeline drained).
/// </summary>
public sealed class PubSubMessageConsumer(PubSubSubscriber subscriber, ILogger<PubSubMessageConsumer> logger) : IMessageConsumer, IAsyncDisposable
{
    public async Task RunAsync(MessageDelivery deliver, CancellationToken stoppingToken)
    {
        ArgumentNullException.ThrowIfNull(deliver);
        subscriber.Start();
        try
        {
            await foreach (var received in subscriber.Messages.ReadAllAsync(stoppingToken))
            {
                await deliver(Wrap(received), stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: fall through to hand back what was pulled and not delivered.
        }

        // Stop pulling. The stop completes once the pipeline settled what it holds; DisposeAsync awaits it.
        _ = subscriber.StopAsync(CancellationToken.None);
        await foreach (var undelivered in subscriber.Messages.ReadAllAsync(CancellationToken.None))
        {
            await undelivered.NackAsync(CancellationToken.None);
        }
    }

    public ValueTask DisposeAsync() => subscriber.DisposeAsync();

    private Message Wrap(PubSubReceivedMessage received)
    {
        var message = received.Message;
        return new Message(
            message.MessageId ?? received.AckId,
            message.Data,
            message.Attributes ?? EmptyAttributes,
            message.PublishTime ?? DateTimeOffset.UtcNow,
            new AckHandle(received, logger));
    }

    private static readonly IReadOnlyDictionary<string, string> EmptyAttributes = new Dictionary<string, string>();

    /// <summary>
    /// Acks and nacks are queued to the subscriber's batched acknowledgement stream, which the subscriber owns
    /// and flushes on stop; waiting for each request would serialise workers on the batch delay. A failed
    /// request means redelivery (at-least-once), so it is logged.
    /// </summary>
    private sealed class AckHandle(PubSubReceivedMessage received, ILogger logger) : IAckHandle
    {
        public ValueTask AckAsync(CancellationToken cancellationToken) => Observe(received.AckAsync(CancellationToken.None), "acknowledge");

        public ValueTask NackAsync(CancellationToken cancellationToken) => Observe(received.NackAsync(CancellationToken.None), "nack");

        private ValueTask Observe(Task request, string what)
        {
            if (!request.IsCompleted)
            {
                request.ContinueWith(
                    (t, state) => logger.LogWarning(t.Exception, "Pub/Sub {Operation} failed; the message will be redelivered", state),
                    what,
                    CancellationToken.None,
                    TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
                    TaskScheduler.Default);
                return ValueTask.CompletedTask;
            }

            return new ValueTask(request);
        }
    }
}
