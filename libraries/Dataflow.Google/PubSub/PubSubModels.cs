using System.Text.Json.Serialization;
using Dataflow.Google.Core;

namespace Dataflow.Google.PubSub;

/// <summary>A Pub/Sub message: payload, attributes and optional ordering key; id and publish time are set by the server.</summary>
public sealed record PubSubMessage
{
    public ReadOnlyMemory<byte> Data { get; init; }

    [JsonConverter(typeof(AttributesJsonConverter))]
    public IReadOnlyDictionary<string, string>? Attributes { get; init; }

    /// <summary>Messages with the same non-empty key are delivered in publish order to subscriptions with ordering enabled.</summary>
    public string? OrderingKey { get; init; }

    public string? MessageId { get; init; }

    public DateTimeOffset? PublishTime { get; init; }

    /// <summary>Approximate encoded size, used for batch and flow-control byte limits.</summary>
    [JsonIgnore]
    public int Size
    {
        get => Data.Length + (OrderingKey?.Length ?? 0) + AttributeSize.Of(Attributes);
    }
}

public sealed record PubSubTopic
{
    /// <summary>Full resource name <c>projects/{project}/topics/{topic}</c>.</summary>
    public string? Name { get; init; }

    public IReadOnlyDictionary<string, string>? Labels { get; init; }

    /// <summary>How long the topic keeps messages (10 minutes to 31 days); null disables topic retention.</summary>
    public TimeSpan? MessageRetentionDuration { get; init; }

    public string? KmsKeyName { get; init; }
}

public sealed record PubSubSubscription
{
    /// <summary>Full resource name <c>projects/{project}/subscriptions/{subscription}</c>.</summary>
    public string? Name { get; init; }

    /// <summary>Full topic name <c>projects/{project}/topics/{topic}</c>.</summary>
    public string? Topic { get; init; }

    /// <summary>10–600 seconds; the server's default is 10.</summary>
    public int? AckDeadlineSeconds { get; init; }

    public bool? RetainAckedMessages { get; init; }

    /// <summary>How long unacknowledged messages are kept (10 minutes to 7 days).</summary>
    public TimeSpan? MessageRetentionDuration { get; init; }

    public IReadOnlyDictionary<string, string>? Labels { get; init; }

    public bool? EnableMessageOrdering { get; init; }

    public bool? EnableExactlyOnceDelivery { get; init; }

    /// <summary>Attribute filter, e.g. <c>attributes.route_name = "uplinks"</c>.</summary>
    public string? Filter { get; init; }

    public PubSubDeadLetterPolicy? DeadLetterPolicy { get; init; }

    public PubSubRetryPolicy? RetryPolicy { get; init; }

    public PubSubExpirationPolicy? ExpirationPolicy { get; init; }

    public bool? Detached { get; init; }

    public string? State { get; init; }
}

/// <param name="DeadLetterTopic">Full topic name <c>projects/{project}/topics/{topic}</c>.</param>
/// <param name="MaxDeliveryAttempts">5–100.</param>
public sealed record PubSubDeadLetterPolicy(string DeadLetterTopic, int MaxDeliveryAttempts);

/// <summary>Redelivery backoff after a nack or an expired deadline (each 0–600 s).</summary>
public sealed record PubSubRetryPolicy(TimeSpan? MinimumBackoff, TimeSpan? MaximumBackoff);

/// <summary>The subscription is deleted after <paramref name="Ttl"/> of inactivity; null TTL means never.</summary>
public sealed record PubSubExpirationPolicy(TimeSpan? Ttl);

/// <summary>One page of a list call; <see cref="NextPageToken"/> is null on the last page.</summary>
public sealed record PubSubPage<T>(IReadOnlyList<T> Items, string? NextPageToken);

/// <summary>A message as a pull returns it.</summary>
public sealed record PubSubPulledMessage(string AckId, PubSubMessage Message, int? DeliveryAttempt);

internal sealed record PublishRequest(IReadOnlyList<PubSubMessage> Messages);

internal sealed record PublishResponse(IReadOnlyList<string>? MessageIds);

internal sealed record PullRequest(int MaxMessages, bool? ReturnImmediately = null);

internal sealed record ReceivedMessageJson(string AckId, PubSubMessage Message, int? DeliveryAttempt);

internal sealed record PullResponse(IReadOnlyList<ReceivedMessageJson>? ReceivedMessages);

internal sealed record AcknowledgeRequest(IReadOnlyList<string> AckIds);

internal sealed record ModifyAckDeadlineRequest(IReadOnlyList<string> AckIds, int AckDeadlineSeconds);

internal sealed record ListTopicsResponse(IReadOnlyList<PubSubTopic>? Topics, string? NextPageToken);

internal sealed record ListSubscriptionsResponse(IReadOnlyList<PubSubSubscription>? Subscriptions, string? NextPageToken);

internal sealed record ListTopicSubscriptionsResponse(IReadOnlyList<string>? Subscriptions, string? NextPageToken);

internal sealed record EmptyJson;

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    Converters = [typeof(Core.DurationJsonConverter), typeof(Core.TimestampJsonConverter)])]
[JsonSerializable(typeof(PubSubTopic))]
[JsonSerializable(typeof(PubSubSubscription))]
[JsonSerializable(typeof(PublishRequest))]
[JsonSerializable(typeof(PublishResponse))]
[JsonSerializable(typeof(PullRequest))]
[JsonSerializable(typeof(PullResponse))]
[JsonSerializable(typeof(AcknowledgeRequest))]
[JsonSerializable(typeof(ModifyAckDeadlineRequest))]
[JsonSerializable(typeof(ListTopicsResponse))]
[JsonSerializable(typeof(ListSubscriptionsResponse))]
[JsonSerializable(typeof(ListTopicSubscriptionsResponse))]
[JsonSerializable(typeof(EmptyJson))]
internal sealed partial class PubSubJsonContext : JsonSerializerContext;
