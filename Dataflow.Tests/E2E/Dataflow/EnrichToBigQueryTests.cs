using Dataflow.Testing.Load;
using Dataflow.Tests.Infrastructure;

namespace Dataflow.Tests.E2E.DataflowScenarios;

[Trait("Category", "E2E")]
public sealed class EnrichToBigQueryTests(SharedServers servers)
{
    [Fact]
    public async Task Enriched_readings_land_in_BigQuery_with_name_location_and_service_tag_columns()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var run = await DataflowRun.StartAsync(servers, firestore: true, ct);
        var scenario = await EnrichScenario.SeedAsync(run, await servers.GetRedisAsync(), ct);
        var ingestionTopic = await run.CreateTopicAsync("ingestion-topic", ct);
        var enrichSubscription = await run.CreateSubscriptionAsync(ingestionTopic, "enrich-sub", ct);
        var enrichedTopic = await run.CreateTopicAsync("enriched-topic", ct);
        var bigQueriesSubscription = await run.CreateSubscriptionAsync(enrichedTopic, "bigqueries-sub", ct);
        var dataset = run.Dataset("telemetry");
        var bigQueries = await ScenarioServices.StartBigQueriesAsync(run, bigQueriesSubscription, dataset, "readings", ct);
        await scenario.StartEnrichAsync(run, enrichSubscription, enrichedTopic, ct);
        await ScenarioServices.StartIngestionAsync(run, ct, ScenarioServices.TelemetryRoute(run, ingestionTopic));

        var load = await run.SendLoadAsync(devices: 3, ratePerDevice: 2, TimeSpan.FromSeconds(3), ct);
        var sent = load.ByKey();
        var rows = await Sinks.WaitForRowsAsync(run, dataset, "readings", load.AcknowledgedCount, ct);

        Assert.Equal(load.AcknowledgedCount, rows.Count);
        foreach (var row in rows)
        {
            var expected = EnrichScenario.Expected[row.DeviceId!];
            Assert.Equal(expected?.Name, row.Name);
            Assert.Equal(expected?.Location, row.Location);
            Assert.Equal(expected?.ServiceTag, row.ServiceTag);
            Assert.Equal(sent[TelemetryReading.FormatKey(row.DeviceId!, row.Value!.Value)].Topic, row.MqttTopic);
        }

        Sinks.AssertExactlyOnce(sent, rows.Select(r => TelemetryReading.FormatKey(r.DeviceId!, r.Value!.Value)), $"{dataset}.readings");
        await run.AssertCounterAsync(bigQueries, "dataflow.pipeline.messages.acked", load.AcknowledgedCount, ct);
    }
}
