using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Dataflow.Mqtt;
using Dataflow.Mqtt.Client;
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
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(4);
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        await using var client = Create($"mqtt://127.0.0.1:{port}", MqttProtocolVersion.V500);
        client.Start();

        using (var first = await listener.AcceptAsync(deadline.Token))
        {
            await ReadPacketAsync(first, deadline.Token);
            await SendAsync(first, new MqttConnAckPacket(), deadline.Token);
            await client.WaitUntilConnectedAsync(deadline.Token);
            await first.SendAsync(garbage, deadline.Token);

            var reply = await ReadPacketAsync(first, deadline.Token);
            Assert.Equal(expected, Assert.IsType<MqttDisconnectPacket>(reply).ReasonCode);
        }

        using var second = await listener.AcceptAsync(deadline.Token);
        Assert.IsType<MqttConnectPacket>(await ReadPacketAsync(second, deadline.Token));
        Assert.IsType<MqttProtocolException>(client.LastError);
    }

    private static async Task SendAsync(Socket socket, MqttPacket packet, CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>();
        MqttPacketEncoder.Write(buffer, packet, MqttProtocolVersion.V500);
        await socket.SendAsync(buffer.WrittenMemory, cancellationToken);
    }

    private static async Task<MqttPacket> ReadPacketAsync(Socket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[4096];
        var length = 0;
        while (true)
        {
            var sequence = new ReadOnlySequence<byte>(buffer, 0, length);
            if (MqttPacketDecoder.TryDecode(ref sequence, MqttProtocolVersion.V500, 0, out var packet))
            {
                return packet;
            }

            var read = await socket.ReceiveAsync(buffer.AsMemory(length), cancellationToken);
            if (read == 0)
            {
                throw new MqttConnectionLostException("The client closed the connection without a packet.");
            }

            length += read;
        }
    }
}
