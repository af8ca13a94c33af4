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
        await using var client = Create(broker.ConnectionString, MqttProtocolVersion.V500);
        client.Start();
        using var connection = await broker.AcceptAsync(deadline.Token);
        await connection.AcceptConnectAsync(new MqttConnAckPacket { Properties = new MqttProperties { ReceiveMaximum = 2 } }, deadline.Token);
        await client.WaitUntilConnectedAsync(deadline.Token);

        var publishes = Enumerable.Range(0, 5).Select(i => client.PublishAsync(Message("window/t", $"m{i}", MqttQualityOfService.AtLeastOnce), deadline.Token)).ToList();
        var subscribe = client.SubscribeAsync("barrier", MqttQualityOfService.AtMostOnce, deadline.Token);

        var first = Assert.IsType<MqttPublishPacket>(await connection.ReadPacketAsync(deadline.Token));
        var second = Assert.IsType<MqttPublishPacket>(await connection.ReadPacketAsync(deadline.Token));
        var barrier = Assert.IsType<MqttSubscribePacket>(await connection.ReadPacketAsync(deadline.Token));
        Assert.Equal(["m0", "m1"], new[] { first, second }.Select(Text));
        await connection.SendAsync(new MqttSubAckPacket { PacketId = barrier.PacketId, ReasonCodes = [MqttReasonCode.GrantedQoS0] }, deadline.Token);
        await subscribe;

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
        await using var client = Create(broker.ConnectionString, MqttProtocolVersion.V500, options => options.MaximumInflightPublishes = 1);
        client.Start();
        using var connection = await broker.AcceptAsync(deadline.Token);
        await connection.AcceptConnectAsync(new MqttConnAckPacket(), deadline.Token);
        await client.WaitUntilConnectedAsync(deadline.Token);

        var sentFirst = client.PublishAsync(Message("window/t", "first", MqttQualityOfService.AtLeastOnce), deadline.Token);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token);
        var withdrawn = client.PublishAsync(Message("window/t", "withdrawn", MqttQualityOfService.AtLeastOnce), cancel.Token);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => withdrawn);
        var third = client.PublishAsync(Message("window/t", "third", MqttQualityOfService.AtLeastOnce), deadline.Token);

        var first = Assert.IsType<MqttPublishPacket>(await connection.ReadPacketAsync(deadline.Token));
        Assert.Equal("first", Text(first));
        await connection.SendAsync(new MqttPublishAckPacket(MqttPacketType.PubAck, first.PacketId), deadline.Token);
        Assert.Equal(MqttReasonCode.Success, await sentFirst);

        var next = Assert.IsType<MqttPublishPacket>(await connection.ReadPacketAsync(deadline.Token));
        Assert.Equal("third", Text(next));
        await connection.SendAsync(new MqttPublishAckPacket(MqttPacketType.PubAck, next.PacketId), deadline.Token);
        Assert.Equal(MqttReasonCode.Success, await third);
    }

    [Fact]
    public async Task Cancelling_a_sent_publish_stops_the_wait_but_the_acknowledgement_still_frees_the_window()
    {
        using var deadline = Deadline();
        using var broker = new ScriptedBroker();
        await using var client = Create(broker.ConnectionString, MqttProtocolVersion.V500, options => options.MaximumInflightPublishes = 1);
        client.Start();
        using var connection = await broker.AcceptAsync(deadline.Token);
        await connection.AcceptConnectAsync(new MqttConnAckPacket(), deadline.Token);
        await client.WaitUntilConnectedAsync(deadline.Token);

        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token);
        var abandoned = client.PublishAsync(Message("window/t", "sent", MqttQualityOfService.AtLeastOnce), cancel.Token);
        var sent = Assert.IsType<MqttPublishPacket>(await connection.ReadPacketAsync(deadline.Token));
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);

        // Sent messages cannot be recalled: the window stays taken until the broker acknowledges.
        var next = client.PublishAsync(Message("window/t", "next", MqttQualityOfService.AtLeastOnce), deadline.Token);
        var subscribe = client.SubscribeAsync("barrier", MqttQualityOfService.AtMostOnce, deadline.Token);
        var barrier = Assert.IsType<MqttSubscribePacket>(await connection.ReadPacketAsync(deadline.Token));
        await connection.SendAsync(new MqttSubAckPacket { PacketId = barrier.PacketId, ReasonCodes = [MqttReasonCode.GrantedQoS0] }, deadline.Token);
        await subscribe;

        await connection.SendAsync(new MqttPublishAckPacket(MqttPacketType.PubAck, sent.PacketId), deadline.Token);
        var second = Assert.IsType<MqttPublishPacket>(await connection.ReadPacketAsync(deadline.Token));
        Assert.Equal("next", Text(second));
        await connection.SendAsync(new MqttPublishAckPacket(MqttPacketType.PubAck, second.PacketId), deadline.Token);
        Assert.Equal(MqttReasonCode.Success, await next);
    }

    [Fact]
    public async Task Publishes_waiting_for_the_window_fail_when_the_client_is_disposed()
    {
        using var deadline = Deadline();
        using var broker = new ScriptedBroker();
        var client = Create(broker.ConnectionString, MqttProtocolVersion.V500, options => options.MaximumInflightPublishes = 1);
        client.Start();
        using var connection = await broker.AcceptAsync(deadline.Token);
        await connection.AcceptConnectAsync(new MqttConnAckPacket(), deadline.Token);
        await client.WaitUntilConnectedAsync(deadline.Token);

        var sent = client.PublishAsync(Message("window/t", "sent", MqttQualityOfService.AtLeastOnce), deadline.Token);
        var waiting = client.PublishAsync(Message("window/t", "waiting", MqttQualityOfService.AtLeastOnce), deadline.Token);
        Assert.IsType<MqttPublishPacket>(await connection.ReadPacketAsync(deadline.Token));
        await client.DisposeAsync();

        await Assert.ThrowsAsync<MqttConnectionLostException>(() => sent);
        await Assert.ThrowsAsync<MqttConnectionLostException>(() => waiting);
    }

    private static string Text(MqttPublishPacket packet) => Encoding.UTF8.GetString(packet.Payload.Span);
}
