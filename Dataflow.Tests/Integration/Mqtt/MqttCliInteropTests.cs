using Dataflow.Mqtt.Broker;
using Dataflow.Mqtt.Protocol;
using Dataflow.Tests.Infrastructure;
using static Dataflow.Tests.Integration.Mqtt.MqttTestClients;

namespace Dataflow.Tests.Integration.Mqtt;

/// <summary>
/// Cross-checks with the independent Mosquitto command-line clients: they exchange messages with our client, over
/// Mosquitto and over our embedded broker, for MQTT 3.1.1 and 5.0 and every QoS.
/// </summary>
[Trait("Category", "Integration")]
public sealed class MqttCliInteropTests(SharedServers servers)
{
    public enum BrokerKind
    {
        Mosquitto,
        Embedded,
    }

    public static TheoryData<BrokerKind, bool, int> Matrix()
    {
        var data = new TheoryData<BrokerKind, bool, int>();
        foreach (var broker in Enum.GetValues<BrokerKind>())
        {
            foreach (var v5 in new[] { false, true })
            {
                for (var qos = 0; qos <= 2; qos++)
                {
                    data.Add(broker, v5, qos);
                }
            }
        }

        return data;
    }

    public static TheoryData<BrokerKind, bool> Brokers()
    {
        var data = new TheoryData<BrokerKind, bool>();
        foreach (var broker in Enum.GetValues<BrokerKind>())
        {
            data.Add(broker, false);
            data.Add(broker, true);
        }

        return data;
    }

    private async Task<BrokerLease> BrokerAsync(BrokerKind kind)
    {
        if (kind == BrokerKind.Mosquitto)
        {
            var mosquitto = await servers.GetMosquittoAsync();
            return new BrokerLease(mosquitto.Port, null);
        }

        var broker = new MqttBroker(new MqttBrokerOptions { Port = 0 });
        await broker.StartAsync(TestContext.Current.CancellationToken);
        return new BrokerLease(broker.Port, broker);
    }

    private static MqttProtocolVersion Version(bool v5) => v5 ? MqttProtocolVersion.V500 : MqttProtocolVersion.V311;

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task Mosquitto_sub_receives_what_our_client_publishes(BrokerKind kind, bool v5, int qos)
    {
        await using var broker = await BrokerAsync(kind);
        using var deadline = Deadline();
        var topic = NewTopicPrefix() + "/to-cli";
        await using var subscriber = MqttCli.Subscribe(broker.Port, topic, count: 5, qos, v5, extra: ["-F", "%q %r %t %p"]);
        await subscriber.ReadyAsync(deadline.Token);
        await using var client = Create($"mqtt://127.0.0.1:{broker.Port}", Version(v5));
        await client.ConnectAsync(deadline.Token);

        for (var i = 0; i < 5; i++)
        {
            await client.PublishAsync(Message(topic, $"hello {i}", (MqttQualityOfService)qos), deadline.Token);
        }

        var lines = await subscriber.MessagesAsync(deadline.Token);
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"{qos} 0 {topic} hello {i}"), lines);
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task Our_client_receives_what_mosquitto_pub_publishes(BrokerKind kind, bool v5, int qos)
    {
        await using var broker = await BrokerAsync(kind);
        using var deadline = Deadline();
        var topic = NewTopicPrefix() + "/from-cli";
        await using var client = Create($"mqtt://127.0.0.1:{broker.Port}", Version(v5));
        await client.ConnectAsync(deadline.Token);
        await client.SubscribeAsync(topic, (MqttQualityOfService)qos, deadline.Token);

        string[] extra = v5 ? ["-D", "publish", "user-property", "source", "cli", "-D", "publish", "content-type", "text/plain"] : [];
        await MqttCli.PublishAsync(broker.Port, topic, "from the cli", qos, v5, deadline.Token, extra);

        var message = (await ReceiveAsync(client, 1, deadline.Token))[0];
        Assert.Equal("from the cli", message.Text());
        Assert.Equal((MqttQualityOfService)qos, message.QoS);
        if (v5)
        {
            Assert.Equal([new("source", "cli")], message.UserProperties);
            Assert.Equal("text/plain", message.ContentType);
        }
    }

    [Theory]
    [MemberData(nameof(Brokers))]
    public async Task Retained_messages_cross_between_cli_and_our_client(BrokerKind kind, bool v5)
    {
        await using var broker = await BrokerAsync(kind);
        using var deadline = Deadline();
        var prefix = NewTopicPrefix();
        await MqttCli.PublishAsync(broker.Port, prefix + "/cli", "cli-retained", 1, v5, deadline.Token, "-r");
        await using var client = Create($"mqtt://127.0.0.1:{broker.Port}", Version(v5));
        await client.ConnectAsync(deadline.Token);
        await client.PublishAsync(Message(prefix + "/ours", "our-retained", MqttQualityOfService.AtLeastOnce, retain: true), deadline.Token);

        await client.SubscribeAsync(prefix + "/cli", MqttQualityOfService.AtLeastOnce, deadline.Token);
        var fromCli = (await ReceiveAsync(client, 1, deadline.Token))[0];
        await using var subscriber = MqttCli.Subscribe(broker.Port, prefix + "/ours", count: 1, qos: 1, v5, extra: ["-F", "%r %p"]);
        var lines = await subscriber.MessagesAsync(deadline.Token);

        Assert.True(fromCli.Retain);
        Assert.Equal("cli-retained", fromCli.Text());
        Assert.Equal(["1 our-retained"], lines);
        await MqttCli.PublishAsync(broker.Port, prefix + "/cli", "", 1, v5, deadline.Token, "-r");
        await MqttCli.PublishAsync(broker.Port, prefix + "/ours", "", 1, v5, deadline.Token, "-r");
    }

    [Theory]
    [MemberData(nameof(Brokers))]
    public async Task Shared_subscription_of_two_mosquitto_subs_splits_our_messages_without_loss(BrokerKind kind, bool v5)
    {
        await using var broker = await BrokerAsync(kind);
        using var deadline = Deadline();
        var topic = NewTopicPrefix() + "/shared";
        // Each stops after 3 s; neither knows how many it will get.
        await using var first = MqttCli.Subscribe(broker.Port, $"$share/cli/{topic}", count: 100, qos: 1, v5, timeoutSeconds: 3, extra: ["-F", "%p"]);
        await using var second = MqttCli.Subscribe(broker.Port, $"$share/cli/{topic}", count: 100, qos: 1, v5, timeoutSeconds: 3, extra: ["-F", "%p"]);
        await Task.WhenAll(first.ReadyAsync(deadline.Token), second.ReadyAsync(deadline.Token));
        await using var client = Create($"mqtt://127.0.0.1:{broker.Port}", Version(v5));
        await client.ConnectAsync(deadline.Token);

        for (var i = 0; i < 20; i++)
        {
            await client.PublishAsync(Message(topic, $"job{i}", MqttQualityOfService.AtLeastOnce), deadline.Token);
        }

        var a = await first.MessagesAsync(deadline.Token);
        var b = await second.MessagesAsync(deadline.Token);
        Assert.NotEmpty(a);
        Assert.NotEmpty(b);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"job{i}").Order(), a.Concat(b).Order());
    }

    private sealed class BrokerLease(int port, MqttBroker? broker) : IAsyncDisposable
    {
        public int Port { get; } = port;

        public async ValueTask DisposeAsync()
        {
            if (broker is not null)
            {
                await broker.DisposeAsync();
            }
        }
    }
}
