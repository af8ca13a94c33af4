using Dataflow.Pipeline;
using Dataflow.Tests.Infrastructure;

namespace Dataflow.Tests.E2E.DataflowScenarios;

[Trait("Category", "E2E")]
public sealed class MqttToPubSubTests(SharedServers servers)
{
    [Fact]
    public async Task Five_devices_at_2_Hz_for_5_s_arrive_on_the_ingestion_topic_exactly_once_as_envelopes_with_routing_attributes()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var run = await DataflowRun.StartAsync(servers, firestore: false, ct);
        var topic = await run.CreateTopicAsync("ingestion-topic", ct);
        var subscription = await run.CreateSubscriptionAsync(topic, "ingestion-verify", ct);
        var ingestion = await ScenarioServices.StartIngestionAsync(run, ct, ScenarioServices.TelemetryRoute(run, topic));

        var load = await run.SendLoadAsync(devices: 5, ratePerDevice: 2, TimeSpan.FromSeconds(5), ct);
        var sent = load.ByKey();
        var messages = await Sinks.PullAsync(run, subscription, load.AcknowledgedCount, ct);

        var keys = new List<string>();
        foreach (var message in messages)
        {
            var envelope = Sinks.Envelope(message);
            var reading = Sinks.Reading(envelope.Payload, sent);
            keys.Add(reading.Key);
            Assert.Equal(reading.Topic, message.Attributes![WellKnownAttributes.MqttTopic]);
            Assert.Equal("telemetry", message.Attributes[WellKnownAttributes.RouteName]);
            Assert.Equal(reading.DeviceId, message.Attributes[WellKnownAttributes.DeviceId]);
            Assert.Equal(reading.DeviceId, envelope.GetEnrichmentString("DeviceID"));
        }

        Sinks.AssertExactlyOnce(sent, keys, topic);
        Assert.Equal(messages.Count, messages.Select(m => Sinks.Envelope(m).Id).Distinct().Count());
        await run.AssertCounterAsync(ingestion, "dataflow.pipeline.messages.acked", load.AcknowledgedCount, ct);
        Assert.Equal(0, run.Meters.Sum(ingestion, "dataflow.pipeline.messages.nacked"));
    }
}
