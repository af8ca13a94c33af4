using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Dataflow.Mqtt.Broker;
using Dataflow.Mqtt.Client;
using Dataflow.Mqtt.Protocol;
using static Dataflow.Tests.Integration.Mqtt.MqttTestClients;

namespace Dataflow.Tests.Integration.Mqtt;

/// <summary>Embedded broker behaviour beyond the shared client contract.</summary>
[Trait("Category", "Integration")]
public sealed class MqttBrokerTests : IAsyncLifetime
{
    private readonly MqttBroker _broker = new(new MqttBrokerOptions { Port = 0 });

    public async ValueTask InitializeAsync() => await _broker.StartAsync(TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync() => await _broker.DisposeAsync();

    [Fact]
    public async Task Broker_listens_on_a_free_port_when_asked_for_port_zero()
    {
        Assert.NotEqual(0, _broker.Port);
        Assert.Equal($"mqtt://127.0.0.1:{_broker.Port}", _broker.ConnectionString);
        await using var second = new MqttBroker(new MqttBrokerOptions { Port = 0 });
        await second.StartAsync(TestContext.Current.CancellationToken);
        Assert.NotEqual(_broker.Port, second.Port);
    }

    [Fact]
    public async Task Wildcards_match_levels_and_never_dollar_topics_from_the_root()
    {
        using var deadline = Deadline();
        await using var client = Create(_broker.ConnectionString, MqttProtocolVersion.V500);
        await client.ConnectAsync(deadline.Token);
        await client.SubscribeAsync([
            new MqttSubscription { Filter = "#", QoS = MqttQualityOfService.AtLeastOnce },
            new MqttSubscription { Filter = "+/status", QoS = MqttQualityOfService.AtLeastOnce },
        ], deadline.Token);

        await client.PublishAsync(Message("$SYS/status", "hidden", MqttQualityOfService.AtLeastOnce), deadline.Token);
        await client.PublishAsync(Message("plant/status", "visible", MqttQualityOfService.AtLeastOnce), deadline.Token);

        var messages = await ReceiveAsync(client, 1, deadline.Token);
        Assert.Equal("visible", messages[0].Text());
        await Task.Delay(200, deadline.Token);
        Assert.False(client.Messages.TryRead(out _), "overlapping subscriptions deliver once; $SYS is not matched by # or +");
    }

    [Fact]
    public async Task Persistent_session_queues_messages_while_the_client_is_offline()
    {
        using var deadline = Deadline();
        var topic = NewTopicPrefix() + "/queued";
        var clientId = "offline-" + Guid.NewGuid().ToString("N")[..8];
        void Persistent(MqttClientOptions o)
        {
            o.ClientId = clientId;
            o.CleanStart = false;
        }

        await using (var first = Create(_broker.ConnectionString, MqttProtocolVersion.V311, Persistent))
        {
            await first.ConnectAsync(deadline.Token);
            await first.SubscribeAsync(topic, MqttQualityOfService.ExactlyOnce, deadline.Token);
        }

        await using var publisher = Create(_broker.ConnectionString, MqttProtocolVersion.V500);
        await publisher.ConnectAsync(deadline.Token);
        for (var i = 0; i < 300; i++)
        {
            await publisher.PublishAsync(Message(topic, $"{i}", (MqttQualityOfService)(i % 3)), deadline.Token);
        }

        await using var second = Create(_broker.ConnectionString, MqttProtocolVersion.V311, Persistent);
        await second.ConnectAsync(deadline.Token);
        var received = await ReceiveAsync(second, 200, deadline.Token);

        // QoS 0 is not queued for offline clients; QoS 1 and 2 all arrive, in order.
        Assert.Equal(Enumerable.Range(0, 300).Where(i => i % 3 != 0).Select(i => $"{i}"), received.Select(m => m.Text()));
    }

    [Fact]
    public async Task Mqtt5_will_delay_is_cancelled_when_the_client_returns_in_time()
    {
        using var deadline = Deadline();
        var topic = NewTopicPrefix() + "/will";
        var clientId = "will-" + Guid.NewGuid().ToString("N")[..8];
        await using var watcher = Create(_broker.ConnectionString, MqttProtocolVersion.V500);
        await watcher.ConnectAsync(deadline.Token);
        await watcher.SubscribeAsync(topic + "/#", MqttQualityOfService.AtLeastOnce, deadline.Token);
        void WithWill(MqttClientOptions o, string name, uint delay)
        {
            o.ClientId = clientId + name;
            o.SessionExpirySeconds = 60;
            o.Will = new MqttWill
            {
                Topic = $"{topic}/{name}",
                Payload = "gone"u8.ToArray(),
                QoS = MqttQualityOfService.AtLeastOnce,
                Properties = new MqttProperties { WillDelayInterval = delay },
            };
        }

        await using var proxy = TcpProxy.Start(_broker.Port);
        await using var returning = Create($"mqtt://127.0.0.1:{proxy.Port}", MqttProtocolVersion.V500, o => WithWill(o, "returning", 2));
        await using var vanishing = Create($"mqtt://127.0.0.1:{proxy.Port}", MqttProtocolVersion.V500, o =>
        {
            WithWill(o, "vanishing", 1);
            o.ReconnectMinimumDelay = TimeSpan.FromSeconds(60);
            o.ReconnectMaximumDelay = TimeSpan.FromSeconds(60);
        });
        await returning.ConnectAsync(deadline.Token);
        await vanishing.ConnectAsync(deadline.Token);

        proxy.DropConnections();
        await vanishing.DisconnectAsync(deadline.Token);
        await returning.WaitUntilConnectedAsync(deadline.Token);

        var will = (await ReceiveAsync(watcher, 1, deadline.Token))[0];
        Assert.Equal($"{topic}/vanishing", will.Topic);
        // The returning client's will would have fired 2 s after the drop had its reconnect not cancelled it.
        await Task.Delay(2500, deadline.Token);
        Assert.False(watcher.Messages.TryRead(out _));
    }

    [Fact]
    public async Task Second_connection_with_the_same_client_id_takes_the_session_over()
    {
        using var deadline = Deadline();
        var clientId = "twin-" + Guid.NewGuid().ToString("N")[..8];
        var topic = NewTopicPrefix() + "/twin";
        await using var first = Create(_broker.ConnectionString, MqttProtocolVersion.V500, o =>
        {
            o.ClientId = clientId;
            o.ReconnectMinimumDelay = TimeSpan.FromSeconds(30);
            o.ReconnectMaximumDelay = TimeSpan.FromSeconds(30);
        });
        var reasons = new List<string>();
        first.StateChanged += (_, e) =>
        {
            lock (reasons)
            {
                reasons.Add(e.Error?.Message ?? "");
            }
        };
        await first.ConnectAsync(deadline.Token);
        await first.SubscribeAsync(topic, MqttQualityOfService.AtLeastOnce, deadline.Token);

        await using var second = Create(_broker.ConnectionString, MqttProtocolVersion.V500, o =>
        {
            o.ClientId = clientId;
            o.CleanStart = false;
        });
        await second.ConnectAsync(deadline.Token);
        while (first.IsConnected)
        {
            await Task.Delay(10, deadline.Token);
        }

        await second.PublishAsync(Message(topic, "to the new owner", MqttQualityOfService.AtLeastOnce), deadline.Token);
        Assert.Equal("to the new owner", (await ReceiveAsync(second, 1, deadline.Token))[0].Text());
        lock (reasons)
        {
            Assert.Contains(reasons, r => r.Contains("SessionTakenOver", StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData(new byte[] { 0x30, 0x04, 0x00, 0x01, 0x23, 0x00 }, MqttReasonCode.TopicNameInvalid)]
    [InlineData(new byte[] { 0x32, 0x04, 0x00, 0x01, 0x61, 0x00 }, MqttReasonCode.MalformedPacket)]
    [InlineData(new byte[] { 0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 0x61, 0x03 }, MqttReasonCode.MalformedPacket)]
    [InlineData(new byte[] { 0x10, 0x00 }, MqttReasonCode.MalformedPacket)]
    public async Task Malformed_packet_closes_the_connection_with_its_reason_code(byte[] garbage, MqttReasonCode expected)
    {
        using var deadline = Deadline();
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, _broker.Port, deadline.Token);
        var connect = new ArrayBufferWriter<byte>();
        MqttPacketEncoder.Write(connect, new MqttConnectPacket { ClientId = "raw" }, MqttProtocolVersion.V500);
        await socket.SendAsync(connect.WrittenMemory, deadline.Token);
        await socket.SendAsync(garbage, deadline.Token);

        var packets = await ReadAllAsync(socket, MqttProtocolVersion.V500, deadline.Token);

        Assert.IsType<MqttConnAckPacket>(packets[0]);
        Assert.Equal(expected, Assert.IsType<MqttDisconnectPacket>(packets[^1]).ReasonCode);
    }

    [Fact]
    public async Task Unsupported_protocol_level_is_refused_in_mqtt311_format()
    {
        using var deadline = Deadline();
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, _broker.Port, deadline.Token);
        // CONNECT "MQTT" level 3 (MQTT 3.1 never used this name; level 3 is not supported either way).
        await socket.SendAsync(new byte[] { 0x10, 0x0C, 0x00, 0x04, 0x4D, 0x51, 0x54, 0x54, 0x03, 0x02, 0x00, 0x3C, 0x00, 0x00 }, deadline.Token);

        var packets = await ReadAllAsync(socket, MqttProtocolVersion.V311, deadline.Token);

        Assert.Equal(MqttReasonCode.UnsupportedProtocolVersion, Assert.IsType<MqttConnAckPacket>(Assert.Single(packets)).ReasonCode);
    }

    [Fact]
    public async Task Qos2_message_resent_with_the_same_packet_id_is_delivered_once()
    {
        using var deadline = Deadline();
        var topic = NewTopicPrefix() + "/once";
        await using var subscriber = Create(_broker.ConnectionString, MqttProtocolVersion.V500);
        await subscriber.ConnectAsync(deadline.Token);
        await subscriber.SubscribeAsync(topic, MqttQualityOfService.ExactlyOnce, deadline.Token);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, _broker.Port, deadline.Token);
        var output = new ArrayBufferWriter<byte>();
        MqttPacketEncoder.Write(output, new MqttConnectPacket { ClientId = "raw-qos2" }, MqttProtocolVersion.V500);
        var publish = new MqttPublishPacket { Topic = topic, Payload = "once"u8.ToArray(), QoS = MqttQualityOfService.ExactlyOnce, PacketId = 9 };
        MqttPacketEncoder.Write(output, publish, MqttProtocolVersion.V500);
        MqttPacketEncoder.Write(output, publish with { Dup = true }, MqttProtocolVersion.V500);
        MqttPacketEncoder.Write(output, new MqttPublishAckPacket(MqttPacketType.PubRel, 9), MqttProtocolVersion.V500);
        MqttPacketEncoder.Write(output, new MqttDisconnectPacket(), MqttProtocolVersion.V500);
        await socket.SendAsync(output.WrittenMemory, deadline.Token);

        var replies = await ReadAllAsync(socket, MqttProtocolVersion.V500, deadline.Token);
        var message = (await ReceiveAsync(subscriber, 1, deadline.Token))[0];
        await Task.Delay(200, deadline.Token);

        Assert.Equal([MqttPacketType.ConnAck, MqttPacketType.PubRec, MqttPacketType.PubRec, MqttPacketType.PubComp], replies.Select(p => p.Type));
        Assert.Equal("once", message.Text());
        Assert.False(subscriber.Messages.TryRead(out _));
    }

    private static async Task<List<MqttPacket>> ReadAllAsync(Socket socket, MqttProtocolVersion version, CancellationToken cancellationToken)
    {
        var buffer = new byte[4096];
        var length = 0;
        while (true)
        {
            var read = await socket.ReceiveAsync(buffer.AsMemory(length), cancellationToken);
            if (read == 0)
            {
                break;
            }

            length += read;
        }

        var packets = new List<MqttPacket>();
        var sequence = new ReadOnlySequence<byte>(buffer, 0, length);
        while (MqttPacketDecoder.TryDecode(ref sequence, version, 0, out var packet))
        {
            packets.Add(packet);
        }

        return packets;
    }
}
