using System.Collections.Concurrent;
using Dataflow.Mqtt.Client;
using Dataflow.Mqtt.Protocol;
using Dataflow.Pipeline;
using Dataflow.Pipeline.Mqtt;
using Dataflow.Tests.Infrastructure;
using static Dataflow.Tests.Integration.Mqtt.MqttTestClients;

namespace Dataflow.Tests.Integration.Mqtt;

/// <summary>The pipeline's MQTT consumer against a private Mosquitto.</summary>
[Trait("Category", "Integration")]
public sealed class MqttMessageConsumerTests
{
    [Theory]
    [InlineData(MqttProtocolVersion.V500)]
    [InlineData(MqttProtocolVersion.V311)]
    public async Task A_persistent_session_backlog_larger_than_the_client_buffer_is_delivered_when_the_consumer_resubscribes(MqttProtocolVersion version)
    {
        using var deadline = Deadline(60);
        await using var mosquitto = await MosquittoServer.StartAsync(cancellationToken: deadline.Token);
        var topic = NewTopicPrefix() + "/backlog";
        var clientId = "c-" + Guid.NewGuid().ToString("N")[..12];
        const int backlog = 200;

        // The broker may send the whole backlog before the SUBACK (receive window 1000), but the client buffers only 10.
        void SmallBuffer(MqttClientOptions options)
        {
            options.ClientId = clientId;
            options.CleanStart = false;
            options.SessionExpirySeconds = 3600;
            options.ReceiveBufferCapacity = 10;
        }

        await using (var first = Create(mosquitto.ConnectionString, version, SmallBuffer))
        {
            await first.ConnectAsync(deadline.Token);
            await first.SubscribeAsync(topic, MqttQualityOfService.AtLeastOnce, deadline.Token);
            await first.DisconnectAsync(deadline.Token);
        }

        await using (var publisher = Create(mosquitto.ConnectionString, MqttProtocolVersion.V500))
        {
            await publisher.ConnectAsync(deadline.Token);
            for (var i = 0; i < backlog; i++)
            {
                await publisher.PublishAsync(Message(topic, $"m{i}", MqttQualityOfService.AtLeastOnce), deadline.Token);
            }
        }

        await using var client = Create(mosquitto.ConnectionString, version, SmallBuffer);
        var consumer = new MqttMessageConsumer(client, [new MqttSubscription { Filter = topic, QoS = MqttQualityOfService.AtLeastOnce }], () => Guid.NewGuid().ToString());
        var received = new ConcurrentDictionary<string, int>();
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token);
        var running = consumer.RunAsync(
            async (message, cancellationToken) =>
            {
                received.AddOrUpdate(System.Text.Encoding.UTF8.GetString(message.Data.Span), 1, (_, n) => n + 1);
                await message.AckAsync(cancellationToken);
                if (received.Count == backlog)
                {
                    all.TrySetResult();
                }
            },
            stop.Token);

        await all.Task.WaitAsync(deadline.Token);
        await stop.CancelAsync();
        await running;

        Assert.Equal(Enumerable.Range(0, backlog).Select(i => $"m{i}").Order(), received.Keys.Order());
    }
}
