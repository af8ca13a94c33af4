using System.Collections.Concurrent;
using Dataflow.Mqtt.Client;
using Dataflow.Mqtt.Protocol;
using Dataflow.Tests.Infrastructure;
using static Dataflow.Tests.Integration.Mqtt.MqttTestClients;

namespace Dataflow.Tests.Integration.Mqtt;

/// <summary>Private Mosquitto instances that are stopped, killed and restarted under a running client.</summary>
[Trait("Category", "Integration")]
public sealed class MqttReconnectTests
{
    private static void Persistent(MqttClientOptions options)
    {
        options.CleanStart = false;
        options.SessionExpirySeconds = 3600;
    }

    private static async Task WaitUntilDisconnectedAsync(MqttClient client, CancellationToken cancellationToken)
    {
        while (client.IsConnected)
        {
            await Task.Delay(20, cancellationToken);
        }
    }

    [Fact]
    public async Task Client_started_while_the_broker_is_down_connects_when_it_comes_up()
    {
        using var deadline = Deadline(60);
        await using var mosquitto = await MosquittoServer.StartAsync(cancellationToken: deadline.Token);
        await mosquitto.StopAsync(deadline.Token);
        await using var client = Create(mosquitto.ConnectionString, MqttProtocolVersion.V500);
        var failures = 0;
        client.StateChanged += (_, e) =>
        {
            if (e.State == MqttConnectionState.Disconnected && e.Error is not null)
            {
                Interlocked.Increment(ref failures);
            }
        };

        client.Start();
        while (Volatile.Read(ref failures) < 2)
        {
            await Task.Delay(20, deadline.Token);
        }

        Assert.False(client.IsConnected);
        await mosquitto.StartAgainAsync(deadline.Token);
        await client.WaitUntilConnectedAsync(deadline.Token);

        Assert.True(client.IsConnected);
        Assert.Equal(MqttReasonCode.NoMatchingSubscribers, await client.PublishAsync(Message("probe/x", "x", MqttQualityOfService.AtLeastOnce), deadline.Token));
    }

    [Fact]
    public async Task Broker_restart_mid_stream_loses_no_qos1_message_of_a_persistent_session()
    {
        using var deadline = Deadline(90);
        await using var mosquitto = await MosquittoServer.StartAsync(cancellationToken: deadline.Token);
        var topic = NewTopicPrefix() + "/stream";
        await using var subscriber = Create(mosquitto.ConnectionString, MqttProtocolVersion.V500, Persistent);
        await using var publisher = Create(mosquitto.ConnectionString, MqttProtocolVersion.V500, Persistent);
        await subscriber.ConnectAsync(deadline.Token);
        await publisher.ConnectAsync(deadline.Token);
        await subscriber.SubscribeAsync(topic, MqttQualityOfService.AtLeastOnce, deadline.Token);

        const int total = 600;
        var received = new ConcurrentDictionary<string, int>();
        var consumer = Task.Run(async () =>
        {
            while (received.Count < total)
            {
                var message = await subscriber.Messages.ReadAsync(deadline.Token);
                received.AddOrUpdate(message.Text(), 1, (_, n) => n + 1);
                await message.AckAsync(deadline.Token);
            }
        }, deadline.Token);
        var producer = Task.Run(async () =>
        {
            for (var i = 0; i < total; i++)
            {
                await publisher.PublishAsync(Message(topic, $"{i}", MqttQualityOfService.AtLeastOnce), deadline.Token);
            }
        }, deadline.Token);

        while (received.Count < total / 3)
        {
            await Task.Delay(10, deadline.Token);
        }

        await mosquitto.StopAsync(deadline.Token);
        await WaitUntilDisconnectedAsync(subscriber, deadline.Token);
        await mosquitto.StartAgainAsync(deadline.Token);
        await Task.WhenAll(producer, consumer);

        Assert.Equal(Enumerable.Range(0, total).Select(i => $"{i}").Order(), received.Keys.Order());
        Assert.True(subscriber.IsConnected);
    }

    [Fact]
    public async Task Killed_broker_loses_the_session_and_the_client_restores_its_subscriptions()
    {
        using var deadline = Deadline(60);
        await using var mosquitto = await MosquittoServer.StartAsync(cancellationToken: deadline.Token);
        var prefix = NewTopicPrefix();
        await using var subscriber = Create(mosquitto.ConnectionString, MqttProtocolVersion.V311, o => o.CleanStart = true);
        await using var publisher = Create(mosquitto.ConnectionString, MqttProtocolVersion.V311);
        await subscriber.ConnectAsync(deadline.Token);
        await publisher.ConnectAsync(deadline.Token);
        await subscriber.SubscribeAsync(prefix + "/a/+", MqttQualityOfService.AtLeastOnce, deadline.Token);
        await subscriber.SubscribeAsync(prefix + "/b/#", MqttQualityOfService.ExactlyOnce, deadline.Token);

        mosquitto.Kill();
        await WaitUntilDisconnectedAsync(subscriber, deadline.Token);
        await mosquitto.StartAgainAsync(deadline.Token);
        await subscriber.WaitUntilConnectedAsync(deadline.Token);
        await publisher.PublishAsync(Message(prefix + "/a/1", "after-a", MqttQualityOfService.AtLeastOnce), deadline.Token);
        await publisher.PublishAsync(Message(prefix + "/b/2/3", "after-b", MqttQualityOfService.ExactlyOnce), deadline.Token);

        var messages = await ReceiveAsync(subscriber, 2, deadline.Token);
        Assert.Equal(["after-a", "after-b"], messages.Select(m => m.Text()));
        Assert.Equal([MqttQualityOfService.AtLeastOnce, MqttQualityOfService.ExactlyOnce], messages.Select(m => m.QoS));
    }

    [Fact]
    public async Task Message_left_unacknowledged_across_a_broker_restart_is_redelivered()
    {
        using var deadline = Deadline(60);
        await using var mosquitto = await MosquittoServer.StartAsync(cancellationToken: deadline.Token);
        var topic = NewTopicPrefix() + "/pending";
        await using var subscriber = Create(mosquitto.ConnectionString, MqttProtocolVersion.V500, Persistent);
        await using var publisher = Create(mosquitto.ConnectionString, MqttProtocolVersion.V500);
        await subscriber.ConnectAsync(deadline.Token);
        await publisher.ConnectAsync(deadline.Token);
        await subscriber.SubscribeAsync(topic, MqttQualityOfService.AtLeastOnce, deadline.Token);
        await publisher.PublishAsync(Message(topic, "work", MqttQualityOfService.AtLeastOnce), deadline.Token);
        var first = (await ReceiveAsync(subscriber, 1, deadline.Token, ack: false))[0];

        await mosquitto.StopAsync(deadline.Token);
        await WaitUntilDisconnectedAsync(subscriber, deadline.Token);
        await first.AckAsync(deadline.Token);
        await mosquitto.StartAgainAsync(deadline.Token);

        var again = (await ReceiveAsync(subscriber, 1, deadline.Token))[0];
        Assert.Equal("work", again.Text());
        Assert.True(again.Duplicate);
        Assert.False(first.Duplicate);
    }
}
