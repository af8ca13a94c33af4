using Dataflow.Pipeline;
using Dataflow.Redis;
using Dataflow.Tests.Infrastructure;

namespace Dataflow.Tests.E2E.DataflowScenarios;

[Trait("Category", "E2E")]
public sealed class MqttEnrichToPubSubTests(SharedServers servers)
{
    [Fact]
    public async Task Readings_are_enriched_from_Redis_before_Firestore_unknown_devices_pass_and_Firestore_answers_are_written_back_to_Redis()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var run = await DataflowRun.StartAsync(servers, firestore: true, ct);
        var redis = await servers.GetRedisAsync();
        var scenario = await EnrichScenario.SeedAsync(run, redis, ct);
        var ingestionTopic = await run.CreateTopicAsync("ingestion-topic", ct);
        var enrichSubscription = await run.CreateSubscriptionAsync(ingestionTopic, "enrich-sub", ct);
        var enrichedTopic = await run.CreateTopicAsync("enriched-topic", ct);
        var verify = await run.CreateSubscriptionAsync(enrichedTopic, "enriched-verify", ct);
        var enrich = await scenario.StartEnrichAsync(run, enrichSubscription, enrichedTopic, ct);
        await ScenarioServices.StartIngestionAsync(run, ct, ScenarioServices.TelemetryRoute(run, ingestionTopic));

        var load = await run.SendLoadAsync(devices: 3, ratePerDevice: 2, TimeSpan.FromSeconds(3), ct);
        var sent = load.ByKey();
        var messages = await Sinks.PullAsync(run, verify, load.AcknowledgedCount, ct);

        var keys = new List<string>();
        foreach (var message in messages)
        {
            var envelope = Sinks.Envelope(message);
            var reading = Sinks.Reading(envelope.Payload, sent);
            keys.Add(reading.Key);
            EnrichScenario.AssertEnriched(reading.DeviceId, envelope);
            Assert.Equal(reading.Topic, message.Attributes![WellKnownAttributes.MqttTopic]);
            Assert.Equal("telemetry", message.Attributes[WellKnownAttributes.RouteName]);
            Assert.Equal(reading.DeviceId, message.Attributes[WellKnownAttributes.DeviceId]);
        }

        Sinks.AssertExactlyOnce(sent, keys, enrichedTopic);
        await run.AssertCounterAsync(enrich, "dataflow.pipeline.messages.acked", load.AcknowledgedCount, ct);
        EnrichScenario.AssertLookups(run, enrich);
        await using var client = await RedisClient.ConnectAsync(redis.ConnectionString, ct);
        Assert.Contains("\"Pump\"", await client.GetAsync(scenario.RedisPrefix + "dev-2", ct), StringComparison.Ordinal);
    }
}
