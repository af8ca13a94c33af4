using System.Runtime.CompilerServices;
using Dataflow.Google.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dataflow.Google.PubSub;

/// <summary>
/// Pub/Sub v1 over REST: topic and subscription administration plus the raw publish/pull/ack calls that
/// <see cref="PubSubPublisher"/> and <see cref="PubSubSubscriber"/> build on. Thread-safe; share one instance.
/// Topic and subscription arguments are ids within <see cref="ProjectId"/> or full resource names.
/// </summary>
public sealed class PubSubClient(GoogleRestTransport transport, string projectId, ILoggerFactory? loggerFactory = null)
{
    public const string ProductionEndpoint = "https://pubsub.googleapis.com/";
    public const string EmulatorVariable = "PUBSUB_EMULATOR_HOST";
    public static readonly IReadOnlyList<string> Scopes = ["https://www.googleapis.com/auth/pubsub"];

    private static readonly PubSubJsonContext Json = PubSubJsonContext.Default;

    public string ProjectId { get; } = !string.IsNullOrWhiteSpace(projectId) ? projectId : throw new ArgumentException("a project id is required", nameof(projectId));

    public GoogleRestTransport Transport { get; } = transport ?? throw new ArgumentNullException(nameof(transport));

    internal ILoggerFactory LoggerFactory { get; } = loggerFactory ?? NullLoggerFactory.Instance;

    /// <summary>Creates a client from options: emulator (no credentials) or production (ADC / key file).</summary>
    public static PubSubClient Create(PubSubOptions options, HttpClient httpClient, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var endpoint = GoogleEndpoint.Resolve(options.EmulatorHost, options.Endpoint, ProductionEndpoint);
        IGoogleAccessTokenSource tokens = endpoint.IsEmulator ? AnonymousTokenSource.Instance : new GoogleCredentialTokenSource(options.CredentialsFile, Scopes);
        return new PubSubClient(new GoogleRestTransport(httpClient, endpoint, tokens, options.ToRetrySettings()), options.ProjectId, loggerFactory);
    }

    public string TopicName(string topic) => ResourceName(topic, "topics");

    public string SubscriptionName(string subscription) => ResourceName(subscription, "subscriptions");

    // ---- topics ----

    public Task<PubSubTopic> CreateTopicAsync(string topic, CancellationToken cancellationToken) =>
        CreateTopicAsync(topic, new PubSubTopic(), cancellationToken);

    /// <summary>Creates the topic; fails with ALREADY_EXISTS (409) when it exists.</summary>
    public Task<PubSubTopic> CreateTopicAsync(string topic, PubSubTopic settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var name = TopicName(topic);
        return Transport.SendJsonAsync(HttpMethod.Put, Path(name), settings with { Name = null }, Json.PubSubTopic, Json.PubSubTopic, cancellationToken);
    }

    public Task<PubSubTopic> GetTopicAsync(string topic, CancellationToken cancellationToken) =>
        Transport.SendJsonAsync(HttpMethod.Get, Path(TopicName(topic)), Json.PubSubTopic, cancellationToken);

    public Task DeleteTopicAsync(string topic, CancellationToken cancellationToken) =>
        Transport.SendAsync(HttpMethod.Delete, Path(TopicName(topic)), cancellationToken);

    public async Task<PubSubPage<PubSubTopic>> ListTopicsPageAsync(int pageSize, string? pageToken, CancellationToken cancellationToken)
    {
        var response = await Transport.SendJsonAsync(HttpMethod.Get, ListPath($"v1/projects/{ProjectId}/topics", pageSize, pageToken), Json.ListTopicsResponse, cancellationToken);
        return new PubSubPage<PubSubTopic>(response.Topics ?? [], NullIfEmpty(response.NextPageToken));
    }

    /// <summary>Every topic of the project, fetching pages as the enumeration proceeds.</summary>
    public IAsyncEnumerable<PubSubTopic> ListTopicsAsync(int pageSize = 100, CancellationToken cancellationToken = default) =>
        Paginate((token, ct) => ListTopicsPageAsync(pageSize, token, ct), cancellationToken);

    public async Task<PubSubPage<string>> ListTopicSubscriptionsPageAsync(string topic, int pageSize, string? pageToken, CancellationToken cancellationToken)
    {
        var response = await Transport.SendJsonAsync(HttpMethod.Get, ListPath(Path(TopicName(topic)) + "/subscriptions", pageSize, pageToken), Json.ListTopicSubscriptionsResponse, cancellationToken);
        return new PubSubPage<string>(response.Subscriptions ?? [], NullIfEmpty(response.NextPageToken));
    }

    // ---- subscriptions ----

    /// <summary>Creates a subscription to <paramref name="topic"/> with the given settings (ack deadline, retention,
    /// dead-letter and retry policy, filter, ordering…); fails with ALREADY_EXISTS when it exists.</summary>
    public Task<PubSubSubscription> CreateSubscriptionAsync(string subscription, string topic, PubSubSubscription? settings, CancellationToken cancellationToken)
    {
        var body = (settings ?? new PubSubSubscription()) with { Name = null, Topic = TopicName(topic) };
        return Transport.SendJsonAsync(HttpMethod.Put, Path(SubscriptionName(subscription)), body, Json.PubSubSubscription, Json.PubSubSubscription, cancellationToken);
    }

    public Task<PubSubSubscription> GetSubscriptionAsync(string subscription, CancellationToken cancellationToken) =>
        Transport.SendJsonAsync(HttpMethod.Get, Path(SubscriptionName(subscription)), Json.PubSubSubscription, cancellationToken);

    public Task DeleteSubscriptionAsync(string subscription, CancellationToken cancellationToken) =>
        Transport.SendAsync(HttpMethod.Delete, Path(SubscriptionName(subscription)), cancellationToken);

    public async Task<PubSubPage<PubSubSubscription>> ListSubscriptionsPageAsync(int pageSize, string? pageToken, CancellationToken cancellationToken)
    {
        var response = await Transport.SendJsonAsync(HttpMethod.Get, ListPath($"v1/projects/{ProjectId}/subscriptions", pageSize, pageToken), Json.ListSubscriptionsResponse, cancellationToken);
        return new PubSubPage<PubSubSubscription>(response.Subscriptions ?? [], NullIfEmpty(response.NextPageToken));
    }

    public IAsyncEnumerable<PubSubSubscription> ListSubscriptionsAsync(int pageSize = 100, CancellationToken cancellationToken = default) =>
        Paginate((token, ct) => ListSubscriptionsPageAsync(pageSize, token, ct), cancellationToken);

    // ---- data plane ----

    /// <summary>Publishes one request's worth of messages (at most 1000, 10 MB) and returns their ids in order.
    /// Prefer <see cref="PubSubPublisher"/>, which batches.</summary>
    public async Task<IReadOnlyList<string>> PublishAsync(string topic, IReadOnlyList<PubSubMessage> messages, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messages);
        foreach (var message in messages)
        {
            if (message.Data.IsEmpty && (message.Attributes is null || message.Attributes.Count == 0))
            {
                throw new ArgumentException("a Pub/Sub message needs data or at least one attribute", nameof(messages));
            }
        }

        var response = await Transport.SendJsonAsync(HttpMethod.Post, Path(TopicName(topic)) + ":publish", new PublishRequest(messages), Json.PublishRequest, Json.PublishResponse, cancellationToken);
        var ids = response.MessageIds ?? [];
        if (ids.Count != messages.Count)
        {
            throw new GoogleApiException($"publish returned {ids.Count} message ids for {messages.Count} messages");
        }

        return ids;
    }

    /// <summary>One pull; returns up to <paramref name="maxMessages"/> messages (possibly none).</summary>
    public async Task<IReadOnlyList<PubSubPulledMessage>> PullAsync(string subscription, int maxMessages, CancellationToken cancellationToken, bool returnImmediately = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        var response = await Transport.SendJsonAsync(
            HttpMethod.Post, Path(SubscriptionName(subscription)) + ":pull", new PullRequest(maxMessages, returnImmediately ? true : null), Json.PullRequest, Json.PullResponse, cancellationToken);
        var received = response.ReceivedMessages;
        if (received is null || received.Count == 0)
        {
            return [];
        }

        var result = new PubSubPulledMessage[received.Count];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = new PubSubPulledMessage(received[i].AckId, received[i].Message, received[i].DeliveryAttempt);
        }

        return result;
    }

    public Task AcknowledgeAsync(string subscription, IReadOnlyList<string> ackIds, CancellationToken cancellationToken) =>
        Transport.SendJsonAsync(HttpMethod.Post, Path(SubscriptionName(subscription)) + ":acknowledge", new AcknowledgeRequest(ackIds), Json.AcknowledgeRequest, cancellationToken);

    /// <summary>Sets the ack deadline of the messages to <paramref name="ackDeadlineSeconds"/> from now; 0 is a nack.</summary>
    public Task ModifyAckDeadlineAsync(string subscription, IReadOnlyList<string> ackIds, int ackDeadlineSeconds, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(ackDeadlineSeconds);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(ackDeadlineSeconds, 600);
        return Transport.SendJsonAsync(
            HttpMethod.Post, Path(SubscriptionName(subscription)) + ":modifyAckDeadline", new ModifyAckDeadlineRequest(ackIds, ackDeadlineSeconds), Json.ModifyAckDeadlineRequest, cancellationToken);
    }

    /// <summary>A batching publisher for one topic; dispose it (or call <see cref="PubSubPublisher.ShutdownAsync"/>) to flush.</summary>
    public PubSubPublisher CreatePublisher(string topic, PublisherSettings? settings = null) => new(this, topic, settings ?? new PublisherSettings());

    /// <summary>A streaming-pull style subscriber for one subscription.</summary>
    public PubSubSubscriber CreateSubscriber(string subscription, SubscriberSettings? settings = null) => new(this, subscription, settings ?? new SubscriberSettings());

    private string ResourceName(string idOrName, string kind)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(idOrName);
        return idOrName.StartsWith("projects/", StringComparison.Ordinal) ? idOrName : $"projects/{ProjectId}/{kind}/{idOrName}";
    }

    private static string Path(string resourceName) => "v1/" + resourceName;

    private static string ListPath(string path, int pageSize, string? pageToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        var query = $"{path}?pageSize={pageSize}";
        return string.IsNullOrEmpty(pageToken) ? query : $"{query}&pageToken={Uri.EscapeDataString(pageToken)}";
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    internal static async IAsyncEnumerable<T> Paginate<T>(
        Func<string?, CancellationToken, Task<PubSubPage<T>>> fetch, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string? token = null;
        do
        {
            var page = await fetch(token, cancellationToken);
            foreach (var item in page.Items)
            {
                yield return item;
            }

            token = page.NextPageToken;
        }
        while (token is not null);
    }
}
