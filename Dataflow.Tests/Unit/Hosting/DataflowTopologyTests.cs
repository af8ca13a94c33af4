using Dataflow.Hosting;
using Dataflow.Hosting.ApplicationModel;
using Dataflow.Hosting.Orchestration;
using Dataflow.Hosting.Testing;

namespace Dataflow.Tests.Unit.Hosting;

/// <summary>The dataflow part of the real AppHost topology, inspected without starting anything.</summary>
[Trait("Category", "Unit")]
public sealed class DataflowTopologyTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<(TestingApplication App, Func<string, Task<Dictionary<string, string?>>> EnvironmentOf)> LoadAsync()
    {
        var app = await TestingBuilder.CreateAsync<Projects.Dataflow_AppHost>(cancellationToken: Ct);
        Orchestrator.AllocatePorts(app.Model, new PortAllocator());
        return (app, name => Orchestrator.EvaluateEnvironmentAsync((ExecutableResource)app.Model.Find(name), 0, null, Ct));
    }

    private static bool WaitsFor(IResource resource, string dependency, WaitType type) =>
        resource.Annotations.OfType<WaitAnnotation>().Any(w => w.Resource.Name == dependency && w.WaitType == type);

    [Fact]
    public async Task Ingestion_gets_the_broker_as_ConnectionStrings_mqtt_and_the_pubsub_emulator_and_starts_after_provisioning()
    {
        var (app, environmentOf) = await LoadAsync();
        await using var _ = app;

        var environment = await environmentOf("ingestion");

        Assert.Equal(await app.GetConnectionStringAsync("mqtt", Ct), environment["ConnectionStrings__mqtt"]);
        Assert.Matches(@"^mqtt://127\.0\.0\.1:\d+$", environment["ConnectionStrings__mqtt"]);
        Assert.Matches(@"^127\.0\.0\.1:\d+$", environment["PUBSUB_EMULATOR_HOST"]);
        Assert.Equal($"dataflow-local-{app.RunId}", environment["GOOGLE_CLOUD_PROJECT"]);
        Assert.False(environment.ContainsKey("Ingestion__Mqtt__ConnectionString"));
        var routes = Dataflow.Ingestion.Routing.RoutingFileLoader.Load(environment["Ingestion__RoutingFile"]!);
        var declaredTopics = ((PubSubEmulatorResource)app.Model.Find("pubsub")).Topics.Select(t => t.TopicId);
        Assert.All(routes.Topics, topic => Assert.Contains(topic, declaredTopics));
        Assert.True(WaitsFor(app.Model.Find("ingestion"), "mqtt", WaitType.WaitUntilHealthy));
        Assert.True(WaitsFor(app.Model.Find("ingestion"), "pubsub-provisioning", WaitType.WaitForCompletion));
    }

    [Fact]
    public async Task Enrich_reads_the_ingestion_topic_writes_the_enriched_topic_and_gets_redis_and_firestore_by_the_standard_names()
    {
        var (app, environmentOf) = await LoadAsync();
        await using var _ = app;

        var environment = await environmentOf("enrich");

        Assert.Equal(await app.GetConnectionStringAsync("redis", Ct), environment["ConnectionStrings__redis"]);
        Assert.Matches(@"^127\.0\.0\.1:\d+$", environment["FIRESTORE_EMULATOR_HOST"]);
        var subscription = (PubSubSubscriptionResource)app.Model.Find(environment["Enrich__Subscription"]!);
        Assert.Equal("ingestion-topic", subscription.Topic.TopicId);
        Assert.Equal("enriched-topic", environment["Enrich__OutputTopic"]);
        Assert.True(WaitsFor(app.Model.Find("enrich"), "devices-seed", WaitType.WaitForCompletion));
        Assert.True(WaitsFor(app.Model.Find("enrich"), "pubsub-provisioning", WaitType.WaitForCompletion));
    }

    [Fact]
    public async Task Icestore_fans_out_from_the_ingestion_topic_and_bigqueries_reads_the_enriched_topic()
    {
        var (app, environmentOf) = await LoadAsync();
        await using var _ = app;

        var iceStore = await environmentOf("icestore");
        var bigQueries = await environmentOf("bigqueries");

        Assert.Equal("ingestion-topic", ((PubSubSubscriptionResource)app.Model.Find(iceStore["IceStore__Subscription"]!)).Topic.TopicId);
        Assert.Equal($"dataflow-archive-{app.RunId}", iceStore["IceStore__Bucket"]);
        Assert.StartsWith("http://127.0.0.1:", iceStore["STORAGE_EMULATOR_HOST"], StringComparison.Ordinal);
        Assert.Equal("enriched-topic", ((PubSubSubscriptionResource)app.Model.Find(bigQueries["BigQueries__Subscription"]!)).Topic.TopicId);
        Assert.StartsWith("http://127.0.0.1:", bigQueries["BIGQUERY_EMULATOR_HOST"], StringComparison.Ordinal);
        Assert.Equal("dead-letter-topic", bigQueries["BigQueries__DeadLetterTopic"]);
        // Every subscription the services consume dead-letters after repeated failures instead of redelivering forever.
        foreach (var name in new[] { "enrich-subscription", "icestore-subscription", "bigqueries-subscription" })
        {
            Assert.Equal("dead-letter-topic", ((PubSubSubscriptionResource)app.Model.Find(name)).Settings.DeadLetterTopic?.TopicId);
        }
    }
}
