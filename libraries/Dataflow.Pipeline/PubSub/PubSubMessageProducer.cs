using Dataflow.Google.PubSub;

namespace Dataflow.Pipeline.PubSub;

/// <summary>Publishes to one Pub/Sub topic through a batching <see cref="PubSubPublisher"/>.</summary>
public sealed class PubSubMessageProducer(PubSubPublisher publisher) : IMessageProducer, IAsyncDisposable
{
    public string TopicName => publisher.TopicName;

    public Task<string> PublishAsync(OutgoingMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        return publisher.PublishAsync(new PubSubMessage { Data = message.Data, Attributes = message.Attributes }, cancellationToken);
    }

    /// <summary>Publishes everything queued, then stops.</summary>
    public ValueTask DisposeAsync() => publisher.DisposeAsync();
}

/// <summary>
/// Dead-letters a message to a Pub/Sub topic: the original data and attributes, plus <c>dead_letter_reason</c>,
/// <c>dead_letter_source_id</c> (the original message id).
/// </summary>
public sealed class PubSubDeadLetterSink(IMessageProducer producer) : IDeadLetterSink
{
    public const string ReasonAttribute = "dead_letter_reason";
    public const string SourceIdAttribute = "dead_letter_source_id";

    public Task DeadLetterAsync(Message message, string reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var attributes = new Dictionary<string, string>(message.Attributes, StringComparer.Ordinal)
        {
            [ReasonAttribute] = reason.Length <= 1024 ? reason : reason[..1024],
            [SourceIdAttribute] = message.Id,
        };
        return producer.PublishAsync(new OutgoingMessage(message.Data, attributes), cancellationToken);
    }
}
