using Dataflow.Hosting;
using Dataflow.Hosting.ApplicationModel;

namespace Dataflow.AppHost;

/// <summary>The infrastructure the dataflow services can reference, typed so each service picks what it needs.</summary>
internal sealed record DataflowInfrastructure(
    IResourceBuilder<IResourceWithServiceDiscovery> Accounts,
    IResourceBuilder<PostgresDatabaseResource> AccountsDb,
    IResourceBuilder<MySqlDatabaseResource> DataflowDb,
    IResourceBuilder<RedisResource> Redis,
    IResourceBuilder<MosquittoResource> Mqtt,
    IResourceBuilder<PubSubEmulatorResource> PubSub,
    IResourceBuilder<FirestoreEmulatorResource> Firestore,
    IResourceBuilder<GcpStandInResource> Storage,
    IResourceBuilder<GcpStandInResource> BigQuery);

internal static class DataflowServices
{
    /// <summary>Device documents seeded into Firestore so enrich has something to find (document id = device id).</summary>
    public static IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> DemoDevices { get; } =
        new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal)
        {
            ["dev-1"] = Device("acme", "berlin", "meter"),
            ["dev-2"] = Device("acme", "hamburg", "meter"),
            ["dev-3"] = Device("globex", "munich", "thermostat"),
        };

    /// <summary>
    /// The dataflow (spec §7 fan-out): MQTT <c>devices/+/telemetry</c> → ingestion → <c>ingestion-topic</c>, which fans out to
    /// enrich (→ <c>enriched-topic</c> → bigqueries → BigQuery) and to icestore (→ gzip JSON Lines in Cloud Storage).
    /// Topics and subscriptions are created by the Pub/Sub emulator's provisioning job; services start after it.
    /// </summary>
    public static void AddDataflowServices(this IDistributedApplicationBuilder builder, DataflowInfrastructure infrastructure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(infrastructure);
        var (mqtt, pubsub, firestore) = (infrastructure.Mqtt, infrastructure.PubSub, infrastructure.Firestore);

        var ingestionTopic = pubsub.AddTopic("ingestion-topic");
        var enrichedTopic = pubsub.AddTopic("enriched-topic");
        // Messages no service could handle after 5 deliveries, and rows BigQuery rejected: kept for inspection.
        var deadLetterTopic = pubsub.AddTopic("dead-letter-topic");
        deadLetterTopic.AddSubscription("dead-letter-subscription");
        var retryThenDeadLetter = new PubSubSubscriptionSettings(DeadLetterTopic: deadLetterTopic.Resource);
        var enrichSubscription = ingestionTopic.AddSubscription("enrich-subscription", settings: retryThenDeadLetter);
        var iceStoreSubscription = ingestionTopic.AddSubscription("icestore-subscription", settings: retryThenDeadLetter);
        var bigQueriesSubscription = enrichedTopic.AddSubscription("bigqueries-subscription", settings: retryThenDeadLetter);
        var topicsReady = pubsub.GetProvisioning();
        var devices = firestore.AddDocuments("devices-seed", "devices", DemoDevices);

        var routingFile = Path.Combine(Path.GetDirectoryName(new Projects.Dataflow_AppHost().ProjectPath)!, "config", "ingestion-routes.yaml");
        builder.AddProject<Projects.Dataflow_Ingestion>("ingestion")
            .WithReference(mqtt)
            .WithReference(pubsub)
            // In a deployment the routing file is mounted next to the service (config map, secret volume, …).
            .WithEnvironment(context => context.EnvironmentVariables["Ingestion__RoutingFile"] =
                context.IsPublishMode ? "config/ingestion-routes.yaml" : routingFile)
            // A persistent session: QoS 1 messages not yet on Pub/Sub are redelivered after a reconnect.
            .WithEnvironment("Ingestion__Mqtt__ClientId", "dataflow-ingestion")
            .WithEnvironment("Ingestion__DeviceIdTopicLevel", "1")
            .WithEnvironment("Ingestion__EnrichFromTopic", "true")
            .WaitFor(mqtt)
            .WaitForCompletion(topicsReady);

        var enrich = builder.AddProject<Projects.Dataflow_Enrich>("enrich")
            .WithReference(pubsub)
            .WithReference(firestore)
            .WithEnvironment("Enrich__Subscription", enrichSubscription.Resource.SubscriptionId)
            .WithEnvironment("Enrich__OutputTopic", enrichedTopic.Resource.TopicId)
            .WithEnvironment("Enrich__FirestoreCollection", devices.Resource.Collection)
            .WaitForCompletion(topicsReady)
            .WaitForCompletion(devices);
        // The Redis layer is optional in enrich: without a local Redis it runs LRU → Firestore (Redis itself shows
        // FailedToStart naming the package).
        if (builder.ExecutionMode == ExecutionMode.Publish || infrastructure.Redis.Resource.ResolveBacking().IsAvailable)
        {
            enrich.WithReference(infrastructure.Redis).WaitFor(infrastructure.Redis);
        }
        else
        {
            enrich.WithEmbeddedFallback("no Redis layer (LRU → Firestore): Redis is not installed (apt-get install redis-server)");
        }

        // Bucket names are global in Cloud Storage: a test run gets its own.
        var bucket = builder.Options.SuffixCloudNamesWithRunId ? $"dataflow-archive-{builder.RunId}" : "dataflow-archive";
        builder.AddProject<Projects.Dataflow_IceStore>("icestore")
            .WithReference(pubsub)
            .WithReference(infrastructure.Storage)
            .WithEnvironment("IceStore__Subscription", iceStoreSubscription.Resource.SubscriptionId)
            .WithEnvironment("IceStore__Bucket", bucket)
            // Short batches locally, so archives appear within seconds (the reference default is one minute).
            .WithEnvironment("IceStore__Batching__FlushInterval", "00:00:05")
            .WaitFor(infrastructure.Storage)
            .WaitForCompletion(topicsReady);

        builder.AddProject<Projects.Dataflow_BigQueries>("bigqueries")
            .WithReference(pubsub)
            .WithReference(infrastructure.BigQuery)
            .WithEnvironment("BigQueries__Subscription", bigQueriesSubscription.Resource.SubscriptionId)
            .WithEnvironment("BigQueries__Dataset", "telemetry")
            .WithEnvironment("BigQueries__Table", "readings")
            .WithEnvironment("BigQueries__DeadLetterTopic", deadLetterTopic.Resource.TopicId)
            .WithEnvironment("BigQueries__Batching__FlushInterval", "00:00:05")
            .WaitFor(infrastructure.BigQuery)
            .WaitForCompletion(topicsReady);
    }

    private static Dictionary<string, string> Device(string clientId, string locationId, string category) =>
        new(StringComparer.Ordinal) { ["ClientID"] = clientId, ["LocationID"] = locationId, ["Category"] = category };
}
