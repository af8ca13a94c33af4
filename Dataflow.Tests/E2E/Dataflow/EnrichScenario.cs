using Dataflow.Pipeline.Envelopes;
using Dataflow.Redis;

namespace Dataflow.Tests.E2E.DataflowScenarios;

/// <summary>
/// The device data of the enrich scenarios: dev-1 is in Firestore and (with other values) in Redis, so its enrichment
/// must come from Redis, the faster layer; dev-2 is only in Firestore; dev-3 is unknown and passes unenriched.
/// </summary>
internal sealed record EnrichScenario(string Collection, string RedisPrefix, RedisServer Redis)
{
    public static readonly Dictionary<string, (string Name, string Location, string ServiceTag)?> Expected = new(StringComparer.Ordinal)
    {
        ["dev-1"] = ("Cached boiler", "hall-r", "cache"),
        ["dev-2"] = ("Pump", "hall-b", "water"),
        ["dev-3"] = null,
    };

    public static async Task<EnrichScenario> SeedAsync(DataflowRun run, RedisServer redis, CancellationToken cancellationToken)
    {
        var collection = await run.SeedDevicesAsync(new Dictionary<string, Dictionary<string, object?>>
        {
            ["dev-1"] = new() { ["ClientID"] = "Boiler", ["LocationID"] = "hall-a", ["Category"] = "heating" },
            ["dev-2"] = new() { ["ClientID"] = "Pump", ["LocationID"] = "hall-b", ["Category"] = "water" },
        }, cancellationToken);
        var prefix = run.RedisPrefix(redis);
        await using var client = await RedisClient.ConnectAsync(redis.ConnectionString, cancellationToken);
        await client.SetAsync(prefix + "dev-1", """{"ClientID":"Cached boiler","LocationID":"hall-r","Category":"cache"}""", TimeSpan.FromMinutes(10), cancellationToken: cancellationToken);
        return new EnrichScenario(collection, prefix, redis);
    }

    public Task<IServiceProvider> StartEnrichAsync(DataflowRun run, string subscription, string outputTopic, CancellationToken cancellationToken) =>
        ScenarioServices.StartEnrichAsync(run, subscription, outputTopic, Collection, Redis, RedisPrefix, cancellationToken);

    /// <summary>Asserts the enriched fields of one envelope against <see cref="Expected"/>.</summary>
    public static void AssertEnriched(string deviceId, Envelope envelope)
    {
        var expected = Expected[deviceId];
        Assert.Equal(deviceId, envelope.GetEnrichmentString("DeviceID"));
        Assert.Equal(expected?.Name, envelope.GetEnrichmentString("name"));
        Assert.Equal(expected?.Location, envelope.GetEnrichmentString("location"));
        Assert.Equal(expected?.ServiceTag, envelope.GetEnrichmentString("serviceTag"));
    }

    /// <summary>One lookup per device reached the layer that answered it (LRU and single-flight absorb the rest).</summary>
    public static void AssertLookups(DataflowRun run, IServiceProvider enrich)
    {
        Assert.Equal(1, Lookups(run, enrich, "redis", "hit"));
        Assert.Equal(1, Lookups(run, enrich, "firestore", "hit"));
        Assert.Equal(1, Lookups(run, enrich, "firestore", "not_found"));
    }

    private static long Lookups(DataflowRun run, IServiceProvider enrich, string layer, string result) =>
        run.Meters.Sum(enrich, "dataflow.enrich.lookups", $"layer={layer}", $"result={result}");
}
