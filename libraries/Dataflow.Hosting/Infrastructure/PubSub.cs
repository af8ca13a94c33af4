using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Dataflow.Hosting.ApplicationModel;
using Dataflow.Hosting.Processes;
using Dataflow.Hosting.Publishing;

namespace Dataflow.Hosting;

/// <summary>
/// A Pub/Sub topic declared on the emulator. Locally its provisioning job creates it; in the deployment manifest it is a
/// <c>gcp.pubsub.topic.v0</c> entry for the platform to create.
/// </summary>
public sealed class PubSubTopicResource : Resource, IResourceWithParent
{
    private readonly List<PubSubSubscriptionResource> _subscriptions = [];

    internal PubSubTopicResource(string name, string topicId, PubSubEmulatorResource emulator)
        : base(name)
    {
        PubSubNames.Validate(topicId, "topic");
        TopicId = topicId;
        Emulator = emulator;
    }

    /// <summary>The topic id services publish to (the full name adds the project: <c>projects/{project}/topics/{id}</c>).</summary>
    public string TopicId { get; }

    public PubSubEmulatorResource Emulator { get; }

    public IReadOnlyList<PubSubSubscriptionResource> Subscriptions => _subscriptions;

    IResource IResourceWithParent.Parent => Emulator;

    internal void AddSubscription(PubSubSubscriptionResource subscription) => _subscriptions.Add(subscription);
}

/// <summary>A pull subscription to a <see cref="PubSubTopicResource"/>, optionally dead-lettering to another topic.</summary>
public sealed class PubSubSubscriptionResource : Resource, IResourceWithParent
{
    internal PubSubSubscriptionResource(string name, string subscriptionId, PubSubTopicResource topic, PubSubSubscriptionSettings settings)
        : base(name)
    {
        PubSubNames.Validate(subscriptionId, "subscription");
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.AckDeadlineSeconds, 10);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(settings.AckDeadlineSeconds, 600);
        if (settings.DeadLetterTopic is not null)
        {
            // Pub/Sub's own limits for a dead-letter policy.
            ArgumentOutOfRangeException.ThrowIfLessThan(settings.MaxDeliveryAttempts, 5);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(settings.MaxDeliveryAttempts, 100);
            if (settings.DeadLetterTopic == topic)
            {
                throw new ArgumentException($"Subscription '{name}' cannot dead-letter into its own topic '{topic.Name}'.", nameof(settings));
            }
        }
        SubscriptionId = subscriptionId;
        Topic = topic;
        Settings = settings;
    }

    public string SubscriptionId { get; }

    public PubSubTopicResource Topic { get; }

    public PubSubSubscriptionSettings Settings { get; }

    IResource IResourceWithParent.Parent => Topic;
}

/// <param name="AckDeadlineSeconds">Initial lease of a pulled message (10–600 s); the services' subscribers extend it while they work.</param>
/// <param name="DeadLetterTopic">Where a message goes after <paramref name="MaxDeliveryAttempts"/> failed deliveries (null: redelivered forever).</param>
/// <param name="MaxDeliveryAttempts">Deliveries before dead-lettering (5–100), used with <paramref name="DeadLetterTopic"/>.</param>
public sealed record PubSubSubscriptionSettings(int AckDeadlineSeconds = 60, PubSubTopicResource? DeadLetterTopic = null, int MaxDeliveryAttempts = 5);

/// <summary>
/// Creates every topic and subscription declared on a Pub/Sub emulator once it is healthy, through its REST API.
/// Idempotent: what already exists is left as it is, so restarting the job (e.g. after restarting the emulator, which
/// keeps nothing) is always safe.
/// </summary>
public sealed class PubSubProvisioningResource(string name, PubSubEmulatorResource emulator) : JobResource(name), IResourceWithParent
{
    public PubSubEmulatorResource Emulator { get; } = emulator;

    IResource IResourceWithParent.Parent => Emulator;

    public override string Description => $"creates the topics and subscriptions of {Emulator.Name}";

    public override async Task RunAsync(ResourceRunContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        using var http = EmulatorRequests.CreateClient(Emulator.ProjectApiRoot);
        var project = Emulator.ProjectId.ProjectId;
        // Topics first: a subscription names its topic and its dead-letter topic.
        foreach (var topic in Emulator.Topics)
        {
            await PutAsync(http, context.Log, $"topics/{topic.TopicId}", new Dictionary<string, object>(), cancellationToken);
        }
        foreach (var subscription in Emulator.Topics.SelectMany(t => t.Subscriptions))
        {
            var body = new Dictionary<string, object>
            {
                ["topic"] = $"projects/{project}/topics/{subscription.Topic.TopicId}",
                ["ackDeadlineSeconds"] = subscription.Settings.AckDeadlineSeconds,
            };
            if (subscription.Settings.DeadLetterTopic is { } deadLetter)
            {
                body["deadLetterPolicy"] = new Dictionary<string, object>
                {
                    ["deadLetterTopic"] = $"projects/{project}/topics/{deadLetter.TopicId}",
                    ["maxDeliveryAttempts"] = subscription.Settings.MaxDeliveryAttempts,
                };
            }
            await PutAsync(http, context.Log, $"subscriptions/{subscription.SubscriptionId}", body, cancellationToken);
        }
    }

    private static async Task PutAsync(HttpClient http, LogBuffer log, string path, Dictionary<string, object> body, CancellationToken cancellationToken)
    {
        using var response = await EmulatorRequests.SendAsync(http,
            () => new HttpRequestMessage(HttpMethod.Put, path) { Content = JsonContent.Create(body) }, log, cancellationToken);
        if (response.StatusCode == HttpStatusCode.Conflict)
        {
            log.Write(LogStream.StandardOutput, $"{path} already exists");
            return;
        }
        if (!response.IsSuccessStatusCode)
        {
            var detail = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new ResourceStartException($"PUT {path} answered {(int)response.StatusCode} {response.ReasonPhrase}: {detail}");
        }
        log.Write(LogStream.StandardOutput, $"created {path}");
    }
}

public static class PubSubBuilderExtensions
{
    /// <summary>
    /// Declares a topic (id = <paramref name="topicId"/>, else the resource name). The first topic adds the emulator's
    /// provisioning job (<c>{emulator}-provisioning</c>); services start after it with <c>WaitForCompletion</c>.
    /// </summary>
    public static IResourceBuilder<PubSubTopicResource> AddTopic(this IResourceBuilder<PubSubEmulatorResource> builder, string name,
        string? topicId = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var provisioning = builder.GetProvisioning();
        var topic = new PubSubTopicResource(name, topicId ?? name, builder.Resource);
        EnsureUnique(builder.Resource.Topics.Select(t => t.TopicId), topic.TopicId, "topic");
        builder.Resource.AddTopic(topic);
        topic.Annotations.Add(new ManifestPublishingCallbackAnnotation(context => WriteTopic(topic, context)));
        // Shown as ready only once it really exists.
        topic.Annotations.Add(new WaitAnnotation(provisioning.Resource, WaitType.WaitForCompletion));
        return builder.ApplicationBuilder.AddResource(topic);
    }

    /// <summary>Declares a pull subscription to the topic (id = <paramref name="subscriptionId"/>, else the resource name).</summary>
    public static IResourceBuilder<PubSubSubscriptionResource> AddSubscription(this IResourceBuilder<PubSubTopicResource> builder, string name,
        string? subscriptionId = null, PubSubSubscriptionSettings? settings = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var emulator = builder.Resource.Emulator;
        var subscription = new PubSubSubscriptionResource(name, subscriptionId ?? name, builder.Resource, settings ?? new PubSubSubscriptionSettings());
        if (subscription.Settings.DeadLetterTopic is { } deadLetter && deadLetter.Emulator != emulator)
        {
            throw new ArgumentException($"Dead-letter topic '{deadLetter.Name}' belongs to another emulator than '{emulator.Name}'.", nameof(settings));
        }
        EnsureUnique(emulator.Topics.SelectMany(t => t.Subscriptions).Select(s => s.SubscriptionId), subscription.SubscriptionId, "subscription");
        builder.Resource.AddSubscription(subscription);
        subscription.Annotations.Add(new ManifestPublishingCallbackAnnotation(context => WriteSubscription(subscription, context)));
        subscription.Annotations.Add(new WaitAnnotation(emulator.Provisioning!, WaitType.WaitForCompletion));
        return builder.ApplicationBuilder.AddResource(subscription);
    }

    /// <summary>The job that creates the emulator's topics and subscriptions (added on first use).</summary>
    public static IResourceBuilder<PubSubProvisioningResource> GetProvisioning(this IResourceBuilder<PubSubEmulatorResource> builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var emulator = builder.Resource;
        if (emulator.Provisioning is { } existing)
        {
            return builder.ApplicationBuilder.CreateResourceBuilder(existing);
        }
        var job = new PubSubProvisioningResource($"{emulator.Name}-provisioning", emulator);
        // The platform creates topics and subscriptions from their manifest entries; the job is local only.
        job.Annotations.Add(new ExcludeFromManifestAnnotation());
        emulator.Provisioning = job;
        return builder.ApplicationBuilder.AddResource(job);
    }

    private static void EnsureUnique(IEnumerable<string> existing, string id, string kind)
    {
        if (existing.Contains(id, StringComparer.Ordinal))
        {
            throw new InvalidOperationException($"A Pub/Sub {kind} with id '{id}' is already declared on this emulator.");
        }
    }

    private static void WriteTopic(PubSubTopicResource topic, ManifestWriterContext context)
    {
        context.Writer.WriteString("type", "gcp.pubsub.topic.v0");
        context.Writer.WriteString("topic", topic.TopicId);
    }

    private static void WriteSubscription(PubSubSubscriptionResource subscription, ManifestWriterContext context)
    {
        var writer = context.Writer;
        writer.WriteString("type", "gcp.pubsub.subscription.v0");
        writer.WriteString("subscription", subscription.SubscriptionId);
        writer.WriteString("topic", subscription.Topic.TopicId);
        writer.WriteNumber("ackDeadlineSeconds", subscription.Settings.AckDeadlineSeconds);
        if (subscription.Settings.DeadLetterTopic is { } deadLetter)
        {
            writer.WriteStartObject("deadLetterPolicy");
            writer.WriteString("deadLetterTopic", deadLetter.TopicId);
            writer.WriteNumber("maxDeliveryAttempts", subscription.Settings.MaxDeliveryAttempts);
            writer.WriteEndObject();
        }
    }
}

internal static partial class PubSubNames
{
    /// <summary>Pub/Sub's rule for topic and subscription ids: 3–255 characters, a letter first, no <c>goog</c> prefix.</summary>
    public static void Validate(string id, string kind)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        if (!Pattern().IsMatch(id) || id.StartsWith("goog", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"'{id}' is not a valid Pub/Sub {kind} id: 3-255 letters, digits, - _ . ~ + %, starting with a letter, not 'goog'."), nameof(id));
        }
    }

    [GeneratedRegex(@"^[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}$")]
    private static partial Regex Pattern();
}
