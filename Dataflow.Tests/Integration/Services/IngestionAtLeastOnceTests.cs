using System.Text;
using Dataflow.Mqtt.Client;
using Dataflow.Mqtt.Protocol;
using Dataflow.Pipeline.Envelopes;
using Dataflow.Tests.Infrastructure;
using Microsoft.Extensions.Hosting;

namespace Dataflow.Tests.Integration.Services;

[Trait("Category", "Integration")]
public sealed class IngestionAtLeastOnceTests(SharedServers servers) : IAsyncLifetime
{
    private readonly string _mqttPrefix = PubSubTestProject.RunId("alo");
    private readonly string _uplinkTopic = PubSubTestProject.RunId("alo-uplinks");
    private readonly string _joinTopic = PubSubTestProject.RunId("alo-joins");
    private readonly string _routingFile = Path.Combine(Path.GetTempPath(), $"routes-{Guid.NewGuid():N}.yaml");
    private PubSubTestProject? _pubSub;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync()
    {
        File.Delete(_routingFile);
        _pubSub?.Dispose();
        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task Every_qos1_message_arrives_at_least_once_when_pubsub_is_unavailable_mid_run()
    {
        var ct = TestContext.Current.CancellationToken;
        var mosquitto = await servers.GetMosquittoAsync();
        var emulator = await servers.GetPubSubAsync();
        _pubSub = PubSubTestProject.Create(emulator.HostPort);
        var subscription = _uplinkTopic + "-sub";
        await _pubSub.CreateTopicWithSubscriptionAsync(_uplinkTopic, subscription, ct);
        await _pubSub.CreateTopicWithSubscriptionAsync(_joinTopic, _joinTopic + "-sub", ct);
        await File.WriteAllTextAsync(_routingFile, IngestionIntegrationTests.RoutingYaml(_mqttPrefix, _uplinkTopic, _joinTopic), ct);
        await using var proxy = new TcpOutageProxy(emulator.Host, emulator.Port);
        var configuration = IngestionIntegrationTests.Configuration(_routingFile, mosquitto.ConnectionString, _pubSub.ProjectId, proxy.HostPort);
        configuration["Google:PubSub:MaxAttempts"] = "2";
        configuration["Ingestion:MaxPublishRetryDelay"] = "00:00:00.500";
        await using var service = await ServiceTestHost.StartAsync(configuration, b => b.AddIngestion(), ct);
        await service.WaitUntilReadyAsync(ct);
        await using var device = new MqttClient(MqttClientOptions.Parse(mosquitto.ConnectionString));
        await device.ConnectAsync(ct);
        var sent = new List<string>();

        async Task SendAsync(int from, int count)
        {
            for (var i = from; i < from + count; i++)
            {
                var payload = $"{{\"seq\":{i}}}";
                // Counted only once the broker acknowledged it (PUBACK): the expected set.
                await device.PublishAsync(new MqttApplicationMessage { Topic = $"{_mqttPrefix}/devices/dev-{i % 3}/up", Payload = Encoding.UTF8.GetBytes(payload), QoS = MqttQualityOfService.AtLeastOnce }, ct);
                sent.Add(payload);
            }
        }

        await SendAsync(0, 20);
        var received = await _pubSub.PullAsync(subscription, 20, ct);
        Assert.Equal(20, received.Count);

        proxy.TakeDown();
        await SendAsync(20, 30);
        using (var outage = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            outage.CancelAfter(TimeSpan.FromSeconds(30));
            while (proxy.RefusedConnections < 2)
            {
                await Task.Delay(50, outage.Token);
            }
        }

        proxy.BringBack();
        await SendAsync(50, 20);

        var payloads = received.Select(PayloadOf).ToHashSet();
        using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            deadline.CancelAfter(TimeSpan.FromSeconds(90));
            while (!sent.All(payloads.Contains) && !deadline.IsCancellationRequested)
            {
                foreach (var message in await _pubSub.PullAsync(subscription, 1, ct, TimeSpan.FromSeconds(2)))
                {
                    payloads.Add(PayloadOf(message));
                }
            }
        }

        Assert.Equal(70, sent.Count);
        var missing = sent.Where(p => !payloads.Contains(p)).ToList();
        Assert.True(missing.Count == 0, $"{missing.Count} acknowledged MQTT messages never reached Pub/Sub: {string.Join(", ", missing)}");
    }

    private static string PayloadOf(Dataflow.Google.PubSub.PubSubMessage message)
    {
        Assert.True(EnvelopeCodec.TryDecode(message.Data.Span, out var envelope));
        return Encoding.UTF8.GetString(envelope.Payload.Span);
    }
}
