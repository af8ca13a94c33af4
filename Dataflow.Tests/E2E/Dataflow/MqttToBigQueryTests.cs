using Dataflow.Testing.Load;
using Dataflow.Tests.Infrastructure;

namespace Dataflow.Tests.E2E.DataflowScenarios;

[Trait("Category", "E2E")]
public sealed class MqttToBigQueryTests(SharedServers servers)
{
    [Fact]
    public async Task Readings_become_one_BigQuery_row_each_with_device_value_timestamp_and_topic()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var run = await DataflowRun.StartAsync(servers, firestore: false, ct);
        var topic = await run.CreateTopicAsync("ingestion-topic", ct);
        var subscription = await run.CreateSubscriptionAsync(topic, "bigqueries-sub", ct);
        var dataset = run.Dataset("telemetry");
        var bigQueries = await ScenarioServices.StartBigQueriesAsync(run, subscription, dataset, "readings", ct);
        var ingestion = await ScenarioServices.StartIngestionAsync(run, ct, ScenarioServices.TelemetryRoute(run, topic));

        var load = await run.SendLoadAsync(devices: 3, ratePerDevice: 2, TimeSpan.FromSeconds(3), ct);
        var sent = load.ByKey();
        var rows = await Sinks.WaitForRowsAsync(run, dataset, "readings", load.AcknowledgedCount, ct);

        Assert.Equal(load.AcknowledgedCount, rows.Count);
        foreach (var row in rows)
        {
            var reading = sent[TelemetryReading.FormatKey(row.DeviceId!, row.Value!.Value)];
            Assert.Equal(reading.Timestamp.ToUnixTimeMilliseconds(), row.Timestamp!.Value.ToUnixTimeMilliseconds());
            Assert.Equal(reading.Topic, row.MqttTopic);
            Assert.Null(row.Name);
        }

        Sinks.AssertExactlyOnce(sent, rows.Select(r => TelemetryReading.FormatKey(r.DeviceId!, r.Value!.Value)), $"{dataset}.readings");
        Assert.Equal(rows.Count, rows.Select(r => r.MessageId).Distinct().Count());
        await run.AssertCounterAsync(ingestion, "dataflow.pipeline.messages.acked", load.AcknowledgedCount, ct);
        await run.AssertCounterAsync(bigQueries, "dataflow.pipeline.messages.acked", load.AcknowledgedCount, ct);

        await run.StopServicesAsync();
        Assert.Equal(load.AcknowledgedCount, await Sinks.CountRowsAsync(run, dataset, "readings", ct));
    }
}
