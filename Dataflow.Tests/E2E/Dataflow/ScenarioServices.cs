using Dataflow.Redis;
using Dataflow.Testing.Load;
using Microsoft.Extensions.Hosting;

namespace Dataflow.Tests.E2E.DataflowScenarios;

/// <summary>One route of an ingestion routing file: MQTT topic filter → route name → Pub/Sub topic.</summary>
internal sealed record Route(string Key, string MqttTopicFilter, string RouteName, string PubSubTopic);

/// <summary>Starts the four services of a scenario in-process with small batches, so sinks fill within seconds.</summary>
internal static class ScenarioServices
{
    public const string BatchFlushInterval = "00:00:01";

    /// <summary>The routing file of spec §2 (YAML, QoS 1 routes, producers by route name).</summary>
    public static string RoutingYaml(params Route[] routes)
    {
        var lines = new List<string> { "routes:" };
        foreach (var route in routes)
        {
            lines.Add($"  {route.Key}:");
            lines.Add($"    source:      {{ mqtt_topic: \"{route.MqttTopicFilter}\", qos: 1 }}");
            lines.Add($"    destination: {{ route_name: \"{route.RouteName}\" }}");
        }

        lines.Add("producers:");
        lines.AddRange(routes.Select(r => $"  {r.RouteName}: {{ topic: \"{r.PubSubTopic}\" }}"));
        return string.Join('\n', lines) + "\n";
    }

    /// <summary>The telemetry route of a run: <c>&lt;prefix&gt;/devices/+/telemetry</c> → <paramref name="topic"/>.</summary>
    public static Route TelemetryRoute(DataflowRun run, string topic) =>
        new("telemetry-mappings", $"{run.MqttPrefix}/devices/+/telemetry", "telemetry", topic);

    /// <summary>Ingestion with a persistent MQTT session, the device id from topic level 2 and enrichment from the topic.</summary>
    public static async Task<IServiceProvider> StartIngestionAsync(DataflowRun run, CancellationToken cancellationToken, params Route[] routes)
    {
        var routingFile = await run.WriteRoutingFileAsync(RoutingYaml(routes), cancellationToken);
        return await run.StartServiceAsync("ingestion", new Dictionary<string, string?>
        {
            ["Ingestion:RoutingFile"] = routingFile,
            ["Ingestion:Mqtt:ConnectionString"] = run.Mqtt.ConnectionString,
            ["Ingestion:Mqtt:ClientId"] = run.Name("ingestion"),
            ["Ingestion:DeviceIdTopicLevel"] = "2",
            ["Ingestion:EnrichFromTopic"] = "true",
        }, b => b.AddIngestion(), cancellationToken);
    }

    public static Task<IServiceProvider> StartEnrichAsync(
        DataflowRun run, string subscription, string outputTopic, string collection, RedisServer redis, string redisPrefix, CancellationToken cancellationToken) =>
        run.StartServiceAsync("enrich", new Dictionary<string, string?>
        {
            ["Enrich:Subscription"] = subscription,
            ["Enrich:OutputTopic"] = outputTopic,
            ["Enrich:FirestoreCollection"] = collection,
            ["Enrich:RedisConnectionString"] = redis.ConnectionString,
            ["Enrich:RedisKeyPrefix"] = redisPrefix,
        }, b => b.AddEnrich(), cancellationToken);

    public static Task<IServiceProvider> StartBigQueriesAsync(DataflowRun run, string subscription, string dataset, string table, CancellationToken cancellationToken) =>
        run.StartServiceAsync("bigqueries", new Dictionary<string, string?>
        {
            ["BigQueries:Subscription"] = subscription,
            ["BigQueries:Dataset"] = dataset,
            ["BigQueries:Table"] = table,
            ["BigQueries:Batching:BatchSize"] = "20",
            ["BigQueries:Batching:FlushInterval"] = BatchFlushInterval,
        }, b => b.AddBigQueries(), cancellationToken);

    public static Task<IServiceProvider> StartIceStoreAsync(DataflowRun run, string subscription, string bucket, CancellationToken cancellationToken) =>
        run.StartServiceAsync("icestore", new Dictionary<string, string?>
        {
            ["IceStore:Subscription"] = subscription,
            ["IceStore:Bucket"] = bucket,
            ["IceStore:ObjectPrefix"] = "archive",
            ["IceStore:Batching:BatchSize"] = "10",
            ["IceStore:Batching:FlushInterval"] = BatchFlushInterval,
        }, b => b.AddIceStore(), cancellationToken);

    /// <summary>The acknowledged sends keyed by device and value (<see cref="TelemetryReading.Key"/>).</summary>
    public static Dictionary<string, TelemetryReading> ByKey(this MqttLoadResult load) =>
        load.Acknowledged.ToDictionary(r => r.Key, StringComparer.Ordinal);
}
