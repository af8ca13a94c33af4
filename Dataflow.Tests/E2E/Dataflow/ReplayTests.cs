using Dataflow.IceStore.Replay;
using Dataflow.Mqtt.Client;
using Dataflow.Testing.Load;
using Dataflow.Tests.Infrastructure;

namespace Dataflow.Tests.E2E.DataflowScenarios;

[Trait("Category", "E2E")]
public sealed class ReplayTests(SharedServers servers)
{
    [Fact]
    public async Task Archived_readings_replayed_through_MQTT_reach_BigQuery_once_each_with_their_original_payload()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var run = await DataflowRun.StartAsync(servers, firestore: false, ct);
        var liveTopic = await run.CreateTopicAsync("ingestion-topic", ct);
        var iceStoreSubscription = await run.CreateSubscriptionAsync(liveTopic, "icestore-sub", ct);
        var replayTopic = await run.CreateTopicAsync("replay-topic", ct);
        var bigQueriesSubscription = await run.CreateSubscriptionAsync(replayTopic, "bigqueries-sub", ct);
        var bucket = run.Bucket("archive");
        var dataset = run.Dataset("replayed");
        await ScenarioServices.StartIceStoreAsync(run, iceStoreSubscription, bucket, ct);
        var bigQueries = await ScenarioServices.StartBigQueriesAsync(run, bigQueriesSubscription, dataset, "readings", ct);
        var replayRoute = new Route("replay-mappings", $"{run.MqttPrefix}/replay/+/telemetry", "replayed", replayTopic);
        await ScenarioServices.StartIngestionAsync(run, ct, ScenarioServices.TelemetryRoute(run, liveTopic), replayRoute);

        // 1. Live readings are archived (nothing reaches BigQuery: the live route feeds only icestore).
        var load = await run.SendLoadAsync(devices: 2, ratePerDevice: 5, TimeSpan.FromSeconds(2), ct);
        var sent = load.ByKey();
        await Sinks.WaitForArchiveAsync(run, bucket, "archive/", load.AcknowledgedCount, ct);
        Assert.Equal(0, await Sinks.CountRowsAsync(run, dataset, "readings", ct));

        // 2. The product's replay publishes each archived device payload back to MQTT, on the replay route.
        var options = new ReplayOptions
        {
            Bucket = bucket,
            Prefix = "archive/",
            MqttConnectionString = run.Mqtt.ConnectionString,
            TopicTemplate = $"{run.MqttPrefix}/replay/{{device}}/telemetry",
        };
        await using var mqtt = new MqttClient(MqttClientOptions.Parse(options.MqttConnectionString));
        await mqtt.ConnectAsync(ct);
        using var logs = new ServiceLogs("replay", run.Output);
        var result = await new ArchiveReplayer(run.Storage, mqtt, options, logs.CreateLogger(nameof(ArchiveReplayer))).RunAsync(ct);
        run.Output.WriteLine($"replay: {result}");

        Assert.True(result.Complete, result.ToString());
        Assert.Equal(load.AcknowledgedCount, result.Lines);
        Assert.Equal(load.AcknowledgedCount, result.Published);
        Assert.True(result.Objects >= 2, $"batch size 10 puts {load.AcknowledgedCount} readings in several objects: {result}");

        // 3. Every archived reading arrives once, with its original timestamp, through the replay topic.
        var rows = await Sinks.WaitForRowsAsync(run, dataset, "readings", load.AcknowledgedCount, ct);
        await run.AssertCounterAsync(bigQueries, "dataflow.pipeline.messages.acked", load.AcknowledgedCount, ct);
        await run.StopServicesAsync();
        Assert.Equal(load.AcknowledgedCount, await Sinks.CountRowsAsync(run, dataset, "readings", ct));
        foreach (var row in rows)
        {
            var reading = sent[TelemetryReading.FormatKey(row.DeviceId!, row.Value!.Value)];
            Assert.Equal(reading.Timestamp.ToUnixTimeMilliseconds(), row.Timestamp!.Value.ToUnixTimeMilliseconds());
            Assert.Equal($"{run.MqttPrefix}/replay/{reading.DeviceId}/telemetry", row.MqttTopic);
        }

        Sinks.AssertExactlyOnce(sent, rows.Select(r => TelemetryReading.FormatKey(r.DeviceId!, r.Value!.Value)), $"{dataset}.readings");
    }
}
