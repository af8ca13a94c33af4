using System.Text;
using Dataflow.Google.PubSub;
using Dataflow.Mqtt.Client;
using Dataflow.Mqtt.Protocol;
using Dataflow.Pipeline;
using Dataflow.Pipeline.Envelopes;
using Dataflow.Tests.Infrastructure;
using Microsoft.Extensions.Hosting;

namespace Dataflow.Tests.Integration.Services;

[Trait("Category", "Integration")]
public sealed class IngestionIntegrationTests(SharedServers servers) : IAsyncLifetime
{
    private readonly string _mqttPrefix = PubSubTestProject.RunId("ingest");
    private readonly string _uplinkTopic = PubSubTestProject.RunId("ingestion-uplinks");
    private readonly string _joinTopic = PubSubTestProject.RunId("ingestion-joins");
    private readonly string _routingFile = Path.Combine(Path.GetTempPath(), $"routes-{Guid.NewGuid():N}.yaml");
    private PubSubTestProject? _pubSub;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync()
    {
        File.Delete(_routingFile);
        _pubSub?.Dispose();
        return ValueTask.CompletedTask;
    }

    internal static string RoutingYaml(string mqttPrefix, string uplinkTopic, string joinTopic) => $$"""
        routes:
          uplink-mappings:
            source:      { mqtt_topic: "{{mqttPrefix}}/devices/+/up", qos: 1 }
            destination: { route_name: "uplinks" }
          join-mappings:
            source:      { mqtt_topic: "{{mqttPrefix}}/devices/+/join", qos: 2 }
            destination: { route_name: "joins" }
        producers:
          uplinks: { topic: "{{uplinkTopic}}" }
          joins:   { topic: "{{joinTopic}}" }
        """;

    internal static Dictionary<string, string?> Configuration(string routingFile, string mqtt, string projectId, string pubSubHost) => new()
    {
        ["Ingestion:RoutingFile"] = routingFile,
        ["Ingestion:Mqtt:ConnectionString"] = mqtt,
        ["Ingestion:Mqtt:ClientId"] = $"ingestion-{Guid.NewGuid():N}",
        ["Ingestion:DeviceIdTopicLevel"] = "2",
        ["Ingestion:EnrichFromTopic"] = "true",
        ["Google:PubSub:ProjectId"] = projectId,
        ["Google:PubSub:EmulatorHost"] = pubSubHost,
    };

    [Fact]
    public async Task Two_routes_deliver_enveloped_messages_to_their_two_topics_with_attributes()
    {
        var ct = TestContext.Current.CancellationToken;
        var mosquitto = await servers.GetMosquittoAsync();
        var emulator = await servers.GetPubSubAsync();
        _pubSub = PubSubTestProject.Create(emulator.HostPort);
        await _pubSub.CreateTopicWithSubscriptionAsync(_uplinkTopic, _uplinkTopic + "-sub", ct);
        await _pubSub.CreateTopicWithSubscriptionAsync(_joinTopic, _joinTopic + "-sub", ct);
        await File.WriteAllTextAsync(_routingFile, RoutingYaml(_mqttPrefix, _uplinkTopic, _joinTopic), ct);

        await using var service = await ServiceTestHost.StartAsync(
            Configuration(_routingFile, mosquitto.ConnectionString, _pubSub.ProjectId, emulator.HostPort), b => b.AddIngestion(), ct);
        await service.WaitUntilReadyAsync(ct);

        await using var device = new MqttClient(MqttClientOptions.Parse(mosquitto.ConnectionString));
        await device.ConnectAsync(ct);
        for (var i = 0; i < 5; i++)
        {
            await device.PublishAsync(new MqttApplicationMessage { Topic = $"{_mqttPrefix}/devices/dev-{i}/up", Payload = Encoding.UTF8.GetBytes($"{{\"value\":{i}}}"), QoS = MqttQualityOfService.AtLeastOnce }, ct);
        }

        for (var i = 0; i < 3; i++)
        {
            await device.PublishAsync(new MqttApplicationMessage { Topic = $"{_mqttPrefix}/devices/dev-{i}/join", Payload = Encoding.UTF8.GetBytes($"join-{i}"), QoS = MqttQualityOfService.ExactlyOnce }, ct);
        }

        await device.PublishAsync(new MqttApplicationMessage { Topic = $"{_mqttPrefix}/devices/dev-9/other", Payload = Encoding.UTF8.GetBytes("unrouted"), QoS = MqttQualityOfService.AtLeastOnce }, ct);

        var uplinks = await _pubSub.PullAsync(_uplinkTopic + "-sub", 5, ct);
        var joins = await _pubSub.PullAsync(_joinTopic + "-sub", 3, ct);

        Assert.Equal(5, uplinks.Count);
        Assert.Equal(3, joins.Count);
        var uplinkEnvelopes = uplinks.Select(Decode).ToList();
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"{{\"value\":{i}}}").Order(), uplinkEnvelopes.Select(e => Encoding.UTF8.GetString(e.Payload.Span)).Order());
        Assert.Equal(5, uplinkEnvelopes.Select(e => e.Id).Distinct().Count());
        foreach (var message in uplinks)
        {
            var envelope = Decode(message);
            var deviceId = envelope.GetEnrichmentString("DeviceID");
            Assert.NotNull(deviceId);
            Assert.Equal($"{_mqttPrefix}/devices/{deviceId}/up", message.Attributes![WellKnownAttributes.MqttTopic]);
            Assert.Equal("uplinks", message.Attributes[WellKnownAttributes.RouteName]);
            Assert.Equal(deviceId, message.Attributes[WellKnownAttributes.DeviceId]);
            Assert.Equal(message.Attributes[WellKnownAttributes.MqttTopic], envelope.GetEnrichmentString("Topic"));
        }

        Assert.All(joins, m => Assert.Equal("joins", m.Attributes![WellKnownAttributes.RouteName]));
        Assert.Equal(["join-0", "join-1", "join-2"], joins.Select(m => Encoding.UTF8.GetString(Decode(m).Payload.Span)).Order());
    }

    [Theory]
    [InlineData("5")]
    [InlineData("3.1.1")]
    public async Task Over_mutual_tls_messages_reach_pubsub_with_either_protocol_version(string protocolVersion)
    {
        var ct = TestContext.Current.CancellationToken;
        var emulator = await servers.GetPubSubAsync();
        _pubSub = PubSubTestProject.Create(emulator.HostPort);
        await _pubSub.CreateTopicWithSubscriptionAsync(_uplinkTopic, _uplinkTopic + "-sub", ct);
        await _pubSub.CreateTopicWithSubscriptionAsync(_joinTopic, _joinTopic + "-sub", ct);
        await File.WriteAllTextAsync(_routingFile, RoutingYaml(_mqttPrefix, _uplinkTopic, _joinTopic), ct);
        var certificates = Directory.CreateTempSubdirectory("ingestion-tls-");
        try
        {
            var pki = TestPki.Create(certificates.FullName);
            var tlsPort = FreePort.Next();
            await using var broker = await MosquittoServer.StartAsync(pki.MosquittoListener(tlsPort), ct);
            var configuration = Configuration(_routingFile, $"mqtts://127.0.0.1:{tlsPort}", _pubSub.ProjectId, emulator.HostPort);
            configuration["Ingestion:Mqtt:ProtocolVersion"] = protocolVersion;
            configuration["Ingestion:Mqtt:Tls:CaCertificatePath"] = pki.CaPath;
            configuration["Ingestion:Mqtt:Tls:ClientCertificatePath"] = pki.ClientCertPath;
            configuration["Ingestion:Mqtt:Tls:ClientKeyPath"] = pki.ClientKeyPath;

            await using var service = await ServiceTestHost.StartAsync(configuration, b => b.AddIngestion(), ct);
            await service.WaitUntilReadyAsync(ct);

            // The device publishes on the broker's plain listener; ingestion reads over TLS only.
            await using var device = new MqttClient(MqttClientOptions.Parse(broker.ConnectionString));
            await device.ConnectAsync(ct);
            for (var i = 0; i < 3; i++)
            {
                await device.PublishAsync(new MqttApplicationMessage { Topic = $"{_mqttPrefix}/devices/dev-{i}/up", Payload = Encoding.UTF8.GetBytes($"tls-{i}"), QoS = MqttQualityOfService.AtLeastOnce }, ct);
            }

            var uplinks = await _pubSub.PullAsync(_uplinkTopic + "-sub", 3, ct);
            Assert.Equal(["tls-0", "tls-1", "tls-2"], uplinks.Select(m => Encoding.UTF8.GetString(Decode(m).Payload.Span)).Order());
            Assert.All(uplinks, m => Assert.Equal("uplinks", m.Attributes![WellKnownAttributes.RouteName]));
        }
        finally
        {
            certificates.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Readyz_is_unavailable_until_the_broker_is_reachable()
    {
        var ct = TestContext.Current.CancellationToken;
        var emulator = await servers.GetPubSubAsync();
        _pubSub = PubSubTestProject.Create(emulator.HostPort);
        await _pubSub.CreateTopicWithSubscriptionAsync(_uplinkTopic, _uplinkTopic + "-sub", ct);
        await _pubSub.CreateTopicWithSubscriptionAsync(_joinTopic, _joinTopic + "-sub", ct);
        await File.WriteAllTextAsync(_routingFile, RoutingYaml(_mqttPrefix, _uplinkTopic, _joinTopic), ct);
        await using var broker = await MosquittoServer.StartAsync(cancellationToken: ct);
        await broker.StopAsync(ct);

        await using var service = await ServiceTestHost.StartAsync(
            Configuration(_routingFile, broker.ConnectionString, _pubSub.ProjectId, emulator.HostPort), b => b.AddIngestion(), ct);

        using (var notReady = await service.Http.GetAsync(new Uri("/readyz", UriKind.Relative), ct))
        {
            Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
        }

        using (var alive = await service.Http.GetAsync(new Uri("/healthz", UriKind.Relative), ct))
        {
            Assert.True(alive.IsSuccessStatusCode);
        }

        await broker.StartAgainAsync(ct);
        await service.WaitUntilReadyAsync(ct);
    }

    private static Envelope Decode(PubSubMessage message)
    {
        Assert.True(EnvelopeCodec.TryDecode(message.Data.Span, out var envelope));
        return envelope;
    }
}
