using System.Text;
using System.Text.Json;
using Dataflow.Google.Firestore;
using Dataflow.Google.PubSub;
using Dataflow.Pipeline.Envelopes;
using Dataflow.Tests.Infrastructure;
using Microsoft.Extensions.Hosting;

namespace Dataflow.Tests.Integration.Services;

[Trait("Category", "Integration")]
public sealed class EnrichIntegrationTests(SharedServers servers)
{
    [Fact]
    public async Task Seeded_devices_are_enriched_unknown_ones_pass_and_a_redis_outage_falls_through_to_firestore()
    {
        var ct = TestContext.Current.CancellationToken;
        var pubSubEmulator = await servers.GetPubSubAsync();
        var firestoreEmulator = await servers.GetFirestoreAsync();
        await using var redis = await RedisServer.StartAsync(cancellationToken: ct);
        using var pubSub = PubSubTestProject.Create(pubSubEmulator.HostPort);
        var input = PubSubTestProject.RunId("enrich-in");
        var output = PubSubTestProject.RunId("enrich-out");
        await pubSub.CreateTopicWithSubscriptionAsync(input, input + "-sub", ct);
        await pubSub.CreateTopicWithSubscriptionAsync(output, output + "-sub", ct);
        using var http = new HttpClient();
        var firestore = FirestoreClient.Create(new FirestoreOptions { ProjectId = pubSub.ProjectId, EmulatorHost = firestoreEmulator.HostPort }, http);
        await firestore.SetAsync("devices/dev-1", new Dictionary<string, object?> { ["ClientID"] = "Boiler", ["LocationID"] = "hall-a", ["Category"] = "heating" }, ct);
        await firestore.SetAsync("devices/dev-2", new Dictionary<string, object?> { ["ClientID"] = "Pump", ["LocationID"] = "hall-b", ["Category"] = "water" }, ct);

        await using var service = await ServiceTestHost.StartAsync(new Dictionary<string, string?>
        {
            ["Enrich:Subscription"] = input + "-sub",
            ["Enrich:OutputTopic"] = output,
            ["Enrich:RedisConnectionString"] = redis.ConnectionString,
            ["Enrich:RedisKeyPrefix"] = $"{pubSub.ProjectId}:",
            ["Google:PubSub:ProjectId"] = pubSub.ProjectId,
            ["Google:PubSub:EmulatorHost"] = pubSubEmulator.HostPort,
            ["Google:Firestore:ProjectId"] = pubSub.ProjectId,
            ["Google:Firestore:EmulatorHost"] = firestoreEmulator.HostPort,
        }, b => b.AddEnrich(), ct);
        await service.WaitUntilReadyAsync(ct);

        await PublishAsync(pubSub, input, "dev-1", ct);
        await PublishAsync(pubSub, input, "ghost", ct);
        var first = (await pubSub.PullAsync(output + "-sub", 2, ct)).Select(Decode).ToDictionary(e => e.GetEnrichmentString("DeviceID")!);

        Assert.Equal(2, first.Count);
        Assert.Equal("Boiler", first["dev-1"].GetEnrichmentString("name"));
        Assert.Equal("hall-a", first["dev-1"].GetEnrichmentString("location"));
        Assert.Equal("heating", first["dev-1"].GetEnrichmentString("serviceTag"));
        Assert.Equal("""{"reading":"dev-1"}""", Encoding.UTF8.GetString(first["dev-1"].Payload.Span));
        Assert.Null(first["ghost"].GetEnrichmentString("name"));

        await redis.StopAsync(ct);
        await PublishAsync(pubSub, input, "dev-2", ct);
        var afterOutage = Decode(Assert.Single(await pubSub.PullAsync(output + "-sub", 1, ct)));

        Assert.Equal("Pump", afterOutage.GetEnrichmentString("name"));
        Assert.Equal("hall-b", afterOutage.GetEnrichmentString("location"));
    }

    private static async Task PublishAsync(PubSubTestProject pubSub, string topic, string deviceId, CancellationToken ct)
    {
        var envelope = new Envelope($"ingest-{deviceId}", Encoding.UTF8.GetBytes($"{{\"reading\":\"{deviceId}\"}}"), new RfcTimestamp(1_795_000_000, 5),
            new Dictionary<string, JsonElement> { ["DeviceID"] = Envelope.StringValue(deviceId) });
        await pubSub.Client.PublishAsync(topic, [new PubSubMessage { Data = EnvelopeCodec.Encode(envelope), Attributes = new Dictionary<string, string> { ["mqtt_topic"] = $"devices/{deviceId}/up" } }], ct);
    }

    private static Envelope Decode(PubSubMessage message)
    {
        Assert.Equal(message.Attributes!["device_id"], message.Attributes["mqtt_topic"].Split('/')[1]);
        Assert.True(EnvelopeCodec.TryDecode(message.Data.Span, out var envelope));
        return envelope;
    }
}
