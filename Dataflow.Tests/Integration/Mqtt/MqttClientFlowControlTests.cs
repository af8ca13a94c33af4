using System.Text;
using Dataflow.Mqtt;
using Dataflow.Mqtt.Client;
using Dataflow.Mqtt.Protocol;
using static Dataflow.Tests.Integration.Mqtt.MqttTestClients;

namespace Dataflow.Tests.Integration.Mqtt;

/// <summary>
/// The in-flight window for QoS 1 publishes, observed on the wire by a scripted broker that decides when to
/// acknowledge. A SUBSCRIBE issued after the publishes serves as a barrier: the client's writer sends packets in the
/// order they were queued, so every PUBLISH the window admitted arrives before it.
/// </summary>
[Trait("Category", "Integration")]
public sealed class MqttClientFlowControlTests
{
    [Fact]
    public async Task Client_never_has_more_unacknowledged_publishes_than_the_brokers_receive_maximum()
    {
        using var deadline = Deadline();
        using var broker = new ScriptedBroker();
        var receiveMaximumTwo = new MqttConnAckPacket { Properties = new MqttProperties { ReceiveMaximum = 2 } };
        var (client, connection) = await ConnectAsync(broker, receiveMaximumTwo, maximumInflight: 1000, deadline.Token);
        await using var clientScope = client;
        using var connectionScope = connection;

        var publishes = Enumerable.Range(0, 5).Select(i => client.PublishAsync(Message("window/t", $"m{i}", MqttQualityOfService.AtLeastOnce), deadline.Token)).ToList();
        var subscribe = client.SubscribeAsync("barrier", MqttQualityOfService.AtMostOnce, deadline.Token);

        var first = Assert.IsType<MqttPublishPacket>(await connection.ReadPacketAsync(deadline.Token));
        var second = Assert.IsType<MqttPublishPacket>(await connection.ReadPacketAsync(deadline.Token));
        await PassBarrierAsync(connection, subscribe, deadline.Token);
        Assert.Equal(["m0", "m1"], new[] { first, second }.Select(Text));

        // Each acknowledgement opens the window for exactly one more message, in call order.
        var inFlight = new Queue<MqttPublishPacket>([first, second]);
        var sent = new List<string> { "m0", "m1" };
        while (inFlight.Count > 0)
        {
            var acknowledged = inFlight.Dequeue();
            await connection.SendAsync(new MqttPublishAckPacket(MqttPacketType.PubAck, acknowledged.PacketId), deadline.Token);
            if (sent.Count < 5)
            {
                var next = Assert.IsType<MqttPublishPacket>(await connection.ReadPacketAsync(deadline.Token));
                sent.Add(Text(next));
                inFlight.Enqueue(next);
            }
        }

        Assert.Equal(["m0", "m1", "m2", "m3", "m4"], sent);
        Assert.All(await Task.WhenAll(publishes), code => Assert.Equal(MqttReasonCode.Success, code));
    }

    [Fact]
    public async Task Publish_cancelled_while_waiting_for_the_window_is_never_sent_and_gives_its_place_to_the_next()
    {
        using var deadline = Deadline();
        using var broker = new ScriptedBroker();
        var (client, connection) = await ConnectAsync(broker, new MqttConnAckPacket(), maximumInflight: 1, deadline.Token);
        await using var clientScope = client;
        using var connectionScope = connection;

        var sentFirst = client.PublishAsync(Message("window/t", "first", MqttQualityOfService.AtLeastOnce), deadline.Token);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token);
        var withdrawn = client.PublishAsync(Message("window/t", "withdrawn", MqttQualityOfService.AtLeastOnce), cancel.Token);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => withdrawn);
        var third = client.PublishAsync(Message("window/t", "third", MqttQualityOfService.AtLeastOnce), deadline.Token);

        await AcknowledgeNextAsync(connection, "first", deadline.Token);
        Assert.Equal(MqttReasonCode.Success, await sentFirst);
        await AcknowledgeNextAsync(connection, "third", deadline.Token);
        Assert.Equal(MqttReasonCode.Success, await third);
    }

    [Fact]
    public async Task Cancelling_a_sent_publish_stops_the_wait_but_the_acknowledgement_still_frees_the_window()
    {
        using var deadline = Deadline();
        using var broker = new ScriptedBroker();
        var (client, connection) = await ConnectAsync(broker, new MqttConnAckPacket(), maximumInflight: 1, deadline.Token);
        await using var clientScope = client;
        using var connectionScope = connection;

        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token);
        var abandoned = client.PublishAsync(Message("window/t", "sent", MqttQualityOfService.AtLeastOnce), cancel.Token);
        var sent = Assert.IsType<MqttPublishPacket>(await connection.ReadPacketAsync(deadline.Token));
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);

        // Sent messages cannot be recalled: the window stays taken until the broker acknowledges.
        var next = client.PublishAsync(Message("window/t", "next", MqttQualityOfService.AtLeastOnce), deadline.Token);
        var subscribe = client.SubscribeAsync("barrier", MqttQualityOfService.AtMostOnce, deadline.Token);
        await PassBarrierAsync(connection, subscribe, deadline.Token);

        await connection.SendAsync(new MqttPublishAckPacket(MqttPacketType.PubAck, sent.PacketId), deadline.Token);
        await AcknowledgeNextAsync(connection, "next", deadline.Token);
        Assert.Equal(MqttReasonCode.Success, await next);
    }

    [Fact]
    public async Task Publishes_waiting_for_the_window_fail_when_the_client_is_disposed()
    {
        using var deadline = Deadline();
        using var broker = new ScriptedBroker();
        var (client, connection) = await ConnectAsync(broker, new MqttConnAckPacket(), maximumInflight: 1, deadline.Token);
        using var connectionScope = connection;

        var sent = client.PublishAsync(Message("window/t", "sent", MqttQualityOfService.AtLeastOnce), deadline.Token);
        var waiting = client.PublishAsync(Message("window/t", "waiting", MqttQualityOfService.AtLeastOnce), deadline.Token);
        Assert.IsType<MqttPublishPacket>(await connection.ReadPacketAsync(deadline.Token));
        await client.DisposeAsync();

        await Assert.ThrowsAsync<MqttConnectionLostException>(() => sent);
        await Assert.ThrowsAsync<MqttConnectionLostException>(() => waiting);
    }

    private static async Task<(MqttClient Client, ScriptedConnection Connection)> ConnectAsync(
        ScriptedBroker broker, MqttConnAckPacket connAck, int maximumInflight, CancellationToken cancellationToken)
    {
        var client = Create(broker.ConnectionString, MqttProtocolVersion.V500, options => options.MaximumInflightPublishes = maximumInflight);
        client.Start();
        var connection = await broker.AcceptAsync(cancellationToken);
        await connection.AcceptConnectAsync(connAck, cancellationToken);
        await client.WaitUntilConnectedAsync(cancellationToken);
        return (client, connection);
    }

    /// <summary>Expects the barrier SUBSCRIBE as the next packet: nothing queued before it is still unsent.</summary>
    private static async Task PassBarrierAsync(ScriptedConnection connection, Task<MqttReasonCode> subscribe, CancellationToken cancellationToken)
    {
        var barrier = Assert.IsType<MqttSubscribePacket>(await connection.ReadPacketAsync(cancellationToken));
        await connection.SendAsync(new MqttSubAckPacket { PacketId = barrier.PacketId, ReasonCodes = [MqttReasonCode.GrantedQoS0] }, cancellationToken);
        await subscribe;
    }

    /// <summary>Expects <paramref name="text"/> as the next PUBLISH and acknowledges it.</summary>
    private static async Task AcknowledgeNextAsync(ScriptedConnection connection, string text, CancellationToken cancellationToken)
    {
        var publish = Assert.IsType<MqttPublishPacket>(await connection.ReadPacketAsync(cancellationToken));
        Assert.Equal(text, Text(publish));
        await connection.SendAsync(new MqttPublishAckPacket(MqttPacketType.PubAck, publish.PacketId), cancellationToken);
    }

    private static string Text(MqttPublishPacket packet) => Encoding.UTF8.GetString(packet.Payload.Span);
}
