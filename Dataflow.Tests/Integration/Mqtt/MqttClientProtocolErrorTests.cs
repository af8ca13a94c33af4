using Dataflow.Mqtt.Protocol;
using static Dataflow.Tests.Integration.Mqtt.MqttTestClients;

namespace Dataflow.Tests.Integration.Mqtt;

/// <summary>A scripted fake broker on a raw socket sends the client what no real broker would.</summary>
[Trait("Category", "Integration")]
public sealed class MqttClientProtocolErrorTests
{
    [Theory]
    [InlineData(new byte[] { 0x30, 0x80, 0x00 }, MqttReasonCode.MalformedPacket)]
    [InlineData(new byte[] { 0x36, 0x06, 0x00, 0x01, 0x61, 0x00, 0x01, 0x00 }, MqttReasonCode.MalformedPacket)]
    [InlineData(new byte[] { 0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 0x61, 0x01 }, MqttReasonCode.ProtocolError)]
    [InlineData(new byte[] { 0x30, 0x07, 0x00, 0x01, 0x61, 0x03, 0x23, 0x00, 0x01 }, MqttReasonCode.TopicAliasInvalid)]
    public async Task Bad_packet_from_the_broker_closes_the_connection_with_its_reason_code_and_the_client_reconnects(byte[] garbage, MqttReasonCode expected)
    {
        using var deadline = Deadline();
        using var broker = new ScriptedBroker();
        await using var client = Create(broker.ConnectionString, MqttProtocolVersion.V500);
        client.Start();

        using (var first = await broker.AcceptAsync(deadline.Token))
        {
            await first.AcceptConnectAsync(new MqttConnAckPacket(), deadline.Token);
            await client.WaitUntilConnectedAsync(deadline.Token);
            await first.SendAsync(garbage, deadline.Token);

            var reply = await first.ReadPacketAsync(deadline.Token);
            Assert.Equal(expected, Assert.IsType<MqttDisconnectPacket>(reply).ReasonCode);
        }

        using var second = await broker.AcceptAsync(deadline.Token);
        Assert.IsType<MqttConnectPacket>(await second.ReadPacketAsync(deadline.Token));
        Assert.IsType<MqttProtocolException>(client.LastError);
    }
}
