using System.Globalization;
using Dataflow.Testing.Load;
using Dataflow.Tests.Infrastructure;

namespace Dataflow.Tests.E2E.DataflowScenarios;

[Trait("Category", "E2E")]
public sealed class FanOutTests(SharedServers servers)
{
    [Fact]
    public async Task One_ingestion_topic_feeds_both_enrich_to_BigQuery_and_icestore_to_Cloud_Storage_with_every_reading_once_in_each()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var run = await DataflowRun.StartAsync(servers, firestore: true, ct);
        var scenario = await EnrichScenario.SeedAsync(run, await servers.GetRedisAsync(), ct);
        var ingestionTopic = await run.CreateTopicAsync("ingestion-topic", ct);
        var enrichSubscription = await run.CreateSubscriptionAsync(ingestionTopic, "enrich-sub", ct);
        var iceStoreSubscription = await run.CreateSubscriptionAsync(ingestionTopic, "icestore-sub", ct);
        var enrichedTopic = await run.CreateTopicAsync("enriched-topic", ct);
        var bigQueriesSubscription = await run.CreateSubscriptionAsync(enrichedTopic, "bigqueries-sub", ct);
        var dataset = run.Dataset("telemetry");
        var bucket = run.Bucket("archive");
        await ScenarioServices.StartBigQueriesAsync(run, bigQueriesSubscription, dataset, "readings", ct);
        await scenario.StartEnrichAsync(run, enrichSubscription, enrichedTopic, ct);
        var iceStore = await ScenarioServices.StartIceStoreAsync(run, iceStoreSubscription, bucket, ct);
        await ScenarioServices.StartIngestionAsync(run, ct, ScenarioServices.TelemetryRoute(run, ingestionTopic));

        var load = await run.SendLoadAsync(devices: 3, ratePerDevice: 2, TimeSpan.FromSeconds(3), ct);
        var sent = load.ByKey();
        var rows = await Sinks.WaitForRowsAsync(run, dataset, "readings", load.AcknowledgedCount, ct);
        await Sinks.WaitForArchiveAsync(run, bucket, "archive/", load.AcknowledgedCount, ct);
        await run.AssertCounterAsync(iceStore, "dataflow.pipeline.messages.acked", load.AcknowledgedCount, ct);

        await run.StopServicesAsync();
        var lines = await Sinks.ReadArchiveAsync(run, bucket, "archive/", ct);
        Assert.Equal(load.AcknowledgedCount, await Sinks.CountRowsAsync(run, dataset, "readings", ct));
        Assert.All(rows, row => Assert.Equal(EnrichScenario.Expected[row.DeviceId!]?.Name, row.Name));
        Sinks.AssertExactlyOnce(sent, rows.Select(r => TelemetryReading.FormatKey(r.DeviceId!, r.Value!.Value)), $"{dataset}.readings");

        var archivedKeys = new List<string>();
        foreach (var (name, line) in lines)
        {
            var reading = Sinks.Reading(line.DevicePayload, sent);
            archivedKeys.Add(reading.Key);
            var day = reading.Timestamp.UtcDateTime.ToString("yyyy'/'MM'/'dd", CultureInfo.InvariantCulture);
            Assert.Equal(day, line.BatchKey);
            Assert.Matches($"^archive/{day}/[0-9a-f-]{{36}}\\.jsonl\\.gz$", name);
            Assert.Equal(reading.DeviceId, line.TryGetEnvelope()!.GetEnrichmentString("DeviceID"));
        }

        Sinks.AssertExactlyOnce(sent, archivedKeys, $"gs://{bucket}/archive/");
    }
}
