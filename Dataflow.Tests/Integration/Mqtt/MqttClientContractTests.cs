using Dataflow.Mqtt;
using Dataflow.Mqtt.Client;
using Dataflow.Mqtt.Protocol;
using static Dataflow.Tests.Integration.Mqtt.MqttTestClients;

namespace Dataflow.Tests.Integration.Mqtt;

/// <summary>
/// Client behaviour that must hold against any conforming broker; run against Mosquitto and against our embedded
/// broker by the two derived classes.
/// </summary>
public abstract class MqttClientContractTests
{
    /// <summary>mqtt://host:port of the broker under test.</summary>
    protected abstract Task<string> GetConnectionStringAsync();

    /// <summary>The broker's port.</summary>
    protected async Task<int> GetPortAsync() => new Uri(await GetConnectionStringAsync()).Port;

    public static TheoryData<MqttProtocolVersion, MqttQualityOfService> VersionsAndQoS()
    {
        var data = new TheoryData<MqttProtocolVersion, MqttQualityOfService>();
        foreach (var version in new[] { MqttProtocolVersion.V311, MqttProtocolVersion.V500 })
        {
            foreach (var qos in new[] { MqttQualityOfService.AtMostOnce, MqttQualityOfService.AtLeastOnce, MqttQualityOfService.ExactlyOnce })
            {
                data.Add(version, qos);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(VersionsAndQoS))]
    public async Task Messages_published_by_one_client_reach_a_subscribed_client_in_order(MqttProtocolVersion version, MqttQualityOfService qos)
    {
        var connectionString = await GetConnectionStringAsync();
        using var deadline = Deadline();
        var topic = NewTopicPrefix() + "/data";
        await using var subscriber = Create(connectionString, version);
        await using var publisher = Create(connectionString, version);
        await subscriber.ConnectAsync(deadline.Token);
        await publisher.ConnectAsync(deadline.Token);
        Assert.Equal((MqttReasonCode)qos, await subscriber.SubscribeAsync(topic, qos, deadline.Token));

        for (var i = 0; i < 50; i++)
        {
            await publisher.PublishAsync(Message(topic, $"m{i}", qos), deadline.Token);
        }

        var received = await ReceiveAsync(subscriber, 50, deadline.Token);
        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"m{i}"), received.Select(m => m.Text()));
        Assert.All(received, m => Assert.Equal(qos, m.QoS));
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task Concurrent_publishers_through_a_small_window_keep_their_own_order_and_each_gets_its_own_acknowledgement(MqttProtocolVersion version)
    {
        const int publishers = 6;
        const int perPublisher = 60;
        var connectionString = await GetConnectionStringAsync();
        using var deadline = Deadline(60);
        var prefix = NewTopicPrefix();
        await using var subscriber = Create(connectionString, version, options => options.ReceiveBufferCapacity = publishers * perPublisher);
        await using var publisher = Create(connectionString, version, options => options.MaximumInflightPublishes = 4);
        await subscriber.ConnectAsync(deadline.Token);
        await publisher.ConnectAsync(deadline.Token);
        await subscriber.SubscribeAsync(prefix + "/subscribed/#", MqttQualityOfService.AtLeastOnce, deadline.Token);

        // Each publisher queues all its messages without awaiting them, so most wait for the window of 4. Odd messages
        // go to a topic nobody subscribed: in MQTT 5.0 their PUBACK says so, which shows every call got its own PUBACK.
        var codes = await Task.WhenAll(Enumerable.Range(0, publishers).Select(p => Task.Run(() =>
        {
            var calls = Enumerable.Range(0, perPublisher).Select(i => publisher.PublishAsync(
                Message($"{prefix}/{(i % 2 == 0 ? "subscribed" : "unsubscribed")}/p{p}", $"{i}", MqttQualityOfService.AtLeastOnce), deadline.Token)).ToList();
            return Task.WhenAll(calls);
        }, deadline.Token)));

        var unsubscribedCode = version == MqttProtocolVersion.V500 ? MqttReasonCode.NoMatchingSubscribers : MqttReasonCode.Success;
        Assert.All(codes, perCall => Assert.Equal(Enumerable.Range(0, perPublisher).Select(i => i % 2 == 0 ? MqttReasonCode.Success : unsubscribedCode), perCall));
        var received = await ReceiveAsync(subscriber, publishers * perPublisher / 2, deadline.Token);
        var expectedOrder = Enumerable.Range(0, perPublisher).Where(i => i % 2 == 0).Select(i => $"{i}");
        Assert.All(received.GroupBy(m => m.Topic), byPublisher => Assert.Equal(expectedOrder, byPublisher.Select(m => m.Text())));
        Assert.Equal(publishers, received.Select(m => m.Topic).Distinct().Count());
    }

    [Fact]
    public async Task Mqtt5_properties_travel_with_the_message()
    {
        var connectionString = await GetConnectionStringAsync();
        using var deadline = Deadline();
        var topic = NewTopicPrefix() + "/props";
        await using var subscriber = Create(connectionString, MqttProtocolVersion.V500);
        await using var publisher = Create(connectionString, MqttProtocolVersion.V500);
        await subscriber.ConnectAsync(deadline.Token);
        await publisher.ConnectAsync(deadline.Token);
        await subscriber.SubscribeAsync(topic, MqttQualityOfService.AtLeastOnce, deadline.Token);

        var properties = new MqttProperties
        {
            ContentType = "application/json",
            MessageExpiryInterval = 300,
            ResponseTopic = topic + "/reply",
            CorrelationData = new byte[] { 7, 7 },
            PayloadFormatIndicator = 1,
        }.AddUserProperty("tenant", "acme").AddUserProperty("trace", "42");
        var code = await publisher.PublishAsync(Message(topic, "{}", MqttQualityOfService.AtLeastOnce, properties: properties), deadline.Token);

        var message = (await ReceiveAsync(subscriber, 1, deadline.Token))[0];
        Assert.Equal(MqttReasonCode.Success, code);
        Assert.Equal("application/json", message.ContentType);
        Assert.Equal([new("tenant", "acme"), new("trace", "42")], message.UserProperties);
        Assert.Equal(topic + "/reply", message.Properties!.ResponseTopic);
        Assert.Equal(new byte[] { 7, 7 }, message.Properties.CorrelationData!.Value.ToArray());
        Assert.InRange(message.Properties.MessageExpiryInterval!.Value, 1u, 300u);
    }

    [Fact]
    public async Task Publish_without_subscribers_reports_no_matching_subscribers_in_mqtt5()
    {
        var connectionString = await GetConnectionStringAsync();
        using var deadline = Deadline();
        await using var publisher = Create(connectionString, MqttProtocolVersion.V500);
        await publisher.ConnectAsync(deadline.Token);

        var code = await publisher.PublishAsync(Message(NewTopicPrefix() + "/nobody", "x", MqttQualityOfService.AtLeastOnce), deadline.Token);

        Assert.Equal(MqttReasonCode.NoMatchingSubscribers, code);
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task Retained_message_is_delivered_to_a_later_subscriber_with_the_retain_flag(MqttProtocolVersion version)
    {
        var connectionString = await GetConnectionStringAsync();
        using var deadline = Deadline();
        var topic = NewTopicPrefix() + "/state";
        await using var publisher = Create(connectionString, version);
        await publisher.ConnectAsync(deadline.Token);
        await publisher.PublishAsync(Message(topic, "on", MqttQualityOfService.AtLeastOnce, retain: true), deadline.Token);

        await using var subscriber = Create(connectionString, version);
        await subscriber.ConnectAsync(deadline.Token);
        await subscriber.SubscribeAsync(topic, MqttQualityOfService.AtLeastOnce, deadline.Token);

        var message = (await ReceiveAsync(subscriber, 1, deadline.Token))[0];
        Assert.True(message.Retain);
        Assert.Equal("on", message.Text());
        await publisher.PublishAsync(Message(topic, "", MqttQualityOfService.AtLeastOnce, retain: true), deadline.Token);
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task Shared_subscription_splits_messages_between_group_members_without_loss(MqttProtocolVersion version)
    {
        var connectionString = await GetConnectionStringAsync();
        using var deadline = Deadline();
        var topic = NewTopicPrefix() + "/work";
        await using var first = Create(connectionString, version);
        await using var second = Create(connectionString, version);
        await using var publisher = Create(connectionString, version);
        foreach (var client in new[] { first, second, publisher })
        {
            await client.ConnectAsync(deadline.Token);
        }

        await first.SubscribeAsync($"$share/workers/{topic}", MqttQualityOfService.AtLeastOnce, deadline.Token);
        await second.SubscribeAsync($"$share/workers/{topic}", MqttQualityOfService.AtLeastOnce, deadline.Token);
        for (var i = 0; i < 40; i++)
        {
            await publisher.PublishAsync(Message(topic, $"job{i}", MqttQualityOfService.AtLeastOnce), deadline.Token);
        }

        var all = new List<string>();
        var perClient = new int[2];
        while (all.Count < 40)
        {
            var progressed = false;
            foreach (var (client, index) in new[] { (first, 0), (second, 1) })
            {
                while (client.Messages.TryRead(out var message))
                {
                    await message.AckAsync(deadline.Token);
                    all.Add(message.Text());
                    perClient[index]++;
                    progressed = true;
                }
            }

            if (!progressed)
            {
                await Task.Delay(20, deadline.Token);
            }
        }

        Assert.Equal(Enumerable.Range(0, 40).Select(i => $"job{i}").Order(), all.Order());
        Assert.All(perClient, count => Assert.True(count > 0, "each group member gets a share"));
    }

    [Fact]
    public async Task Unacknowledged_qos1_message_is_redelivered_when_the_persistent_session_resumes()
    {
        var connectionString = await GetConnectionStringAsync();
        using var deadline = Deadline();
        var topic = NewTopicPrefix() + "/ack";
        var clientId = "ack-" + Guid.NewGuid().ToString("N")[..12];
        void Persistent(MqttClientOptions o)
        {
            o.ClientId = clientId;
            o.CleanStart = false;
            o.SessionExpirySeconds = 300;
        }

        await using (var first = Create(connectionString, MqttProtocolVersion.V500, Persistent))
        {
            await first.ConnectAsync(deadline.Token);
            await first.SubscribeAsync(topic, MqttQualityOfService.AtLeastOnce, deadline.Token);
            await using var publisher = Create(connectionString, MqttProtocolVersion.V500);
            await publisher.ConnectAsync(deadline.Token);
            await publisher.PublishAsync(Message(topic, "handled", MqttQualityOfService.AtLeastOnce), deadline.Token);
            await publisher.PublishAsync(Message(topic, "crashed", MqttQualityOfService.AtLeastOnce), deadline.Token);

            var received = await ReceiveAsync(first, 2, deadline.Token, ack: false);
            await received[0].AckAsync(deadline.Token);
            // The second message is never acknowledged: the "application" dies before finishing it.
        }

        await using var second = Create(connectionString, MqttProtocolVersion.V500, Persistent);
        await second.ConnectAsync(deadline.Token);
        var redelivered = (await ReceiveAsync(second, 1, deadline.Token))[0];

        Assert.Equal("crashed", redelivered.Text());
        Assert.True(redelivered.Duplicate);
        await Task.Delay(300, deadline.Token);
        Assert.False(second.Messages.TryRead(out _), "the acknowledged message must not come back");
    }

    [Fact]
    public async Task Full_receive_buffer_holds_back_the_broker_without_losing_messages()
    {
        var connectionString = await GetConnectionStringAsync();
        using var deadline = Deadline();
        var topic = NewTopicPrefix() + "/slow";
        await using var subscriber = Create(connectionString, MqttProtocolVersion.V500, o => o.ReceiveBufferCapacity = 5);
        await using var publisher = Create(connectionString, MqttProtocolVersion.V500);
        await subscriber.ConnectAsync(deadline.Token);
        await publisher.ConnectAsync(deadline.Token);
        await subscriber.SubscribeAsync(topic, MqttQualityOfService.AtLeastOnce, deadline.Token);

        await Task.WhenAll(Enumerable.Range(0, 200).Select(i => publisher.PublishAsync(Message(topic, $"{i}", MqttQualityOfService.AtLeastOnce), deadline.Token)));
        var received = await ReceiveAsync(subscriber, 200, deadline.Token);

        Assert.Equal(Enumerable.Range(0, 200).Select(i => $"{i}").Order(), received.Select(m => m.Text()).Order());
        Assert.True(subscriber.IsConnected);
    }

    [Fact]
    public async Task Unsubscribed_filter_receives_nothing_more()
    {
        var connectionString = await GetConnectionStringAsync();
        using var deadline = Deadline();
        var prefix = NewTopicPrefix();
        await using var client = Create(connectionString, MqttProtocolVersion.V500);
        await client.ConnectAsync(deadline.Token);
        await client.SubscribeAsync(prefix + "/a", MqttQualityOfService.AtLeastOnce, deadline.Token);
        await client.SubscribeAsync(prefix + "/b", MqttQualityOfService.AtLeastOnce, deadline.Token);

        await client.UnsubscribeAsync([prefix + "/a"], deadline.Token);
        await client.PublishAsync(Message(prefix + "/a", "gone", MqttQualityOfService.AtLeastOnce), deadline.Token);
        await client.PublishAsync(Message(prefix + "/b", "kept", MqttQualityOfService.AtLeastOnce), deadline.Token);

        var message = (await ReceiveAsync(client, 1, deadline.Token))[0];
        Assert.Equal("kept", message.Text());
    }

    [Fact]
    public async Task Will_message_is_published_when_a_client_vanishes()
    {
        var connectionString = await GetConnectionStringAsync();
        using var deadline = Deadline();
        var topic = NewTopicPrefix() + "/will";
        await using var watcher = Create(connectionString, MqttProtocolVersion.V500);
        await watcher.ConnectAsync(deadline.Token);
        await watcher.SubscribeAsync(topic, MqttQualityOfService.AtLeastOnce, deadline.Token);

        // The network drops the client's connection without a DISCONNECT: the broker must publish its will.
        await using var proxy = TcpProxy.Start(await GetPortAsync());
        await using var doomed = Create($"mqtt://127.0.0.1:{proxy.Port}", MqttProtocolVersion.V500, o =>
            o.Will = new MqttWill { Topic = topic, Payload = "offline"u8.ToArray(), QoS = MqttQualityOfService.AtLeastOnce });
        await doomed.ConnectAsync(deadline.Token);
        proxy.DropConnections();

        var will = (await ReceiveAsync(watcher, 1, deadline.Token))[0];
        Assert.Equal("offline", will.Text());
    }

    [Fact]
    public async Task Invalid_topic_and_filter_are_rejected_before_sending()
    {
        var connectionString = await GetConnectionStringAsync();
        await using var client = Create(connectionString, MqttProtocolVersion.V500);

        await Assert.ThrowsAsync<ArgumentException>(() => client.PublishAsync(Message("a/+/b", "x", MqttQualityOfService.AtMostOnce), TestContext.Current.CancellationToken));
        await Assert.ThrowsAsync<ArgumentException>(() => client.SubscribeAsync("a/#/b", MqttQualityOfService.AtMostOnce, TestContext.Current.CancellationToken));
        Assert.False(MqttTopic.IsValidTopicFilter("$share/g"));
    }
}
