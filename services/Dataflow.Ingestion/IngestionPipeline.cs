using System.Text.Json;
using Dataflow.Ingestion.Routing;
using Dataflow.Pipeline;
using Dataflow.Pipeline.Envelopes;

namespace Dataflow.Ingestion;

/// <summary>One envelope to publish on one route.</summary>
internal sealed record RoutedMessage(IngestionRoute Route, OutgoingMessage Message);

/// <summary>
/// Wraps an MQTT message into the envelope of spec §0 and addresses it to every matching route, with attributes
/// <c>mqtt_topic</c>, <c>route_name</c> and (when the topic carries one) <c>device_id</c>.
/// </summary>
internal sealed class IngestionTransformer(RoutingTable routes, IngestionOptions options) : IMessageTransformer<IReadOnlyList<RoutedMessage>>
{
    public ValueTask<TransformResult<IReadOnlyList<RoutedMessage>>> TransformAsync(Message message, CancellationToken cancellationToken)
    {
        var topic = message.Attributes[WellKnownAttributes.MqttTopic];
        var matching = routes.Match(topic);
        if (matching.Count == 0)
        {
            // Only possible for a message the broker delivered outside our filters (e.g. a stale persistent subscription).
            return ValueTask.FromResult(TransformResult.Skip<IReadOnlyList<RoutedMessage>>());
        }

        var deviceId = options.DeviceIdTopicLevel is { } level ? TopicLevel(topic, level) : null;
        var publishTime = RfcTimestamp.FromDateTimeOffset(message.PublishTime.ToUniversalTime());
        Dictionary<string, JsonElement>? enrichment = null;
        if (options.EnrichFromTopic && deviceId is not null)
        {
            enrichment = new Dictionary<string, JsonElement>(StringComparer.Ordinal)
            {
                ["DeviceID"] = Envelope.StringValue(deviceId),
                ["Topic"] = Envelope.StringValue(topic),
                ["Timestamp"] = Envelope.StringValue(publishTime.ToString()),
            };
        }

        var data = EnvelopeCodec.Encode(new Envelope(message.Id, message.Data, publishTime, enrichment));
        var routed = new RoutedMessage[matching.Count];
        for (var i = 0; i < routed.Length; i++)
        {
            var route = matching[i];
            var attributes = new Dictionary<string, string>(3, StringComparer.Ordinal)
            {
                [WellKnownAttributes.MqttTopic] = topic,
                [WellKnownAttributes.RouteName] = route.RouteName,
            };
            if (deviceId is not null)
            {
                attributes[WellKnownAttributes.DeviceId] = deviceId;
            }

            routed[i] = new RoutedMessage(route, new OutgoingMessage(data, attributes));
        }

        return ValueTask.FromResult(TransformResult.Of<IReadOnlyList<RoutedMessage>>(routed));
    }

    private static string? TopicLevel(string topic, int level)
    {
        var index = 0;
        foreach (var range in topic.AsSpan().Split('/'))
        {
            if (index++ == level)
            {
                var value = topic[range];
                return value.Length > 0 ? value : null;
            }
        }

        return null;
    }
}

/// <summary>
/// Publishes each routed envelope and completes only when Pub/Sub accepted it, retrying with backoff while
/// Pub/Sub is unavailable; the MQTT acknowledgement follows (at-least-once). A retrying message stays outstanding,
/// so a Pub/Sub outage fills the pipeline's outstanding limit and stops reading from the broker: backpressure, no drops.
/// </summary>
internal sealed class IngestionPublisher(
    IReadOnlyDictionary<string, IMessageProducer> producers,
    TimeSpan maxRetryDelay,
    ILogger<IngestionPublisher> logger) : IMessageProcessor<IReadOnlyList<RoutedMessage>>
{
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(100);

    public async ValueTask<ProcessOutcome> ProcessAsync(Message message, IReadOnlyList<RoutedMessage> value, CancellationToken cancellationToken)
    {
        // Indexed, and the retry loop inline: no enumerator and no second state machine per message.
        for (var i = 0; i < value.Count; i++)
        {
            var routed = value[i];
            var producer = producers[routed.Route.PubSubTopic];
            var delay = FirstRetryDelay;
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await producer.PublishAsync(routed.Message, cancellationToken);
                    break;
                }
                catch (Exception ex) when (ex is not OperationCanceledException && ex is not OutOfMemoryException)
                {
                    logger.LogWarning(
                        ex, "Publishing message {MessageId} to {Topic} failed (attempt {Attempt}); retrying in {Delay} ms",
                        message.Id, routed.Route.PubSubTopic, attempt, (long)delay.TotalMilliseconds);
                }

                await Task.Delay(delay, cancellationToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, maxRetryDelay.Ticks));
            }
        }

        return ProcessOutcome.Done;
    }
}
