using Dataflow.Tests.Infrastructure;

namespace Dataflow.Tests.E2E.DataflowScenarios;

[Trait("Category", "E2E")]
public sealed class MqttToIceStoreTests(SharedServers servers)
{
    [Fact]
    public async Task Two_devices_at_5_Hz_for_3_s_routed_by_a_YAML_file_are_archived_as_gzip_JSON_lines_every_reading_once()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var run = await DataflowRun.StartAsync(servers, firestore: false, ct);
        var archiveTopic = await run.CreateTopicAsync("ingestion-topic", ct);
        var iceStoreSubscription = await run.CreateSubscriptionAsync(archiveTopic, "icestore-sub", ct);
        var statusTopic = await run.CreateTopicAsync("status-topic", ct);
        var statusSubscription = await run.CreateSubscriptionAsync(statusTopic, "status-verify", ct);
        var bucket = run.Bucket("archive");
        var iceStore = await ScenarioServices.StartIceStoreAsync(run, iceStoreSubscription, bucket, ct);
        // Two routes: the telemetry filter must take every reading, the status route none.
        await ScenarioServices.StartIngestionAsync(run, ct,
            ScenarioServices.TelemetryRoute(run, archiveTopic),
            new Route("status-mappings", $"{run.MqttPrefix}/devices/+/status", "status", statusTopic));

        var load = await run.SendLoadAsync(devices: 2, ratePerDevice: 5, TimeSpan.FromSeconds(3), ct);
        var sent = load.ByKey();
        await Sinks.WaitForArchiveAsync(run, bucket, "archive/", load.AcknowledgedCount, ct);
        await run.AssertCounterAsync(iceStore, "dataflow.pipeline.messages.acked", load.AcknowledgedCount, ct);

        await run.StopServicesAsync();
        var lines = await Sinks.ReadArchiveAsync(run, bucket, "archive/", ct);
        Sinks.AssertExactlyOnce(sent, lines.Select(l => Sinks.Reading(l.Line.DevicePayload, sent).Key), $"gs://{bucket}/archive/");
        Assert.Equal(lines.Count, lines.Select(l => l.Line.Id).Distinct().Count());
        Assert.All(lines, l => Assert.NotNull(l.Line.TryGetEnvelope()));
        Assert.Empty(await run.PubSub.PullAsync(statusSubscription, 10, ct, returnImmediately: true));
    }
}
