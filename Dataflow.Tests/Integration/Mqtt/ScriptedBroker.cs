using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Dataflow.Mqtt;
using Dataflow.Mqtt.Protocol;

namespace Dataflow.Tests.Integration.Mqtt;

/// <summary>A fake broker on a raw loopback socket whose every packet the test writes and reads itself.</summary>
internal sealed class ScriptedBroker : IDisposable
{
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

    public ScriptedBroker()
    {
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(4);
    }

    public string ConnectionString => $"mqtt://127.0.0.1:{((IPEndPoint)_listener.LocalEndPoint!).Port}";

    public async Task<ScriptedConnection> AcceptAsync(CancellationToken cancellationToken) =>
        new(await _listener.AcceptAsync(cancellationToken));

    public void Dispose() => _listener.Dispose();
}

/// <summary>One client connection of a <see cref="ScriptedBroker"/>, speaking MQTT 5.0 packets.</summary>
internal sealed class ScriptedConnection(Socket socket) : IDisposable
{
    private readonly byte[] _buffer = new byte[65_536];
    private int _length;

    public async Task SendAsync(MqttPacket packet, CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>();
        MqttPacketEncoder.Write(buffer, packet, MqttProtocolVersion.V500);
        await SendAsync(buffer.WrittenMemory, cancellationToken);
    }

    public async Task SendAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken) =>
        await socket.SendAsync(bytes, cancellationToken);

    /// <summary>The next packet from the client; bytes of the packets after it are kept for the next call.</summary>
    public async Task<MqttPacket> ReadPacketAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var sequence = new ReadOnlySequence<byte>(_buffer, 0, _length);
            if (MqttPacketDecoder.TryDecode(ref sequence, MqttProtocolVersion.V500, 0, out var packet))
            {
                var consumed = (int)(_length - sequence.Length);
                _buffer.AsSpan(consumed, _length - consumed).CopyTo(_buffer);
                _length -= consumed;
                return packet;
            }

            var read = await socket.ReceiveAsync(_buffer.AsMemory(_length), cancellationToken);
            if (read == 0)
            {
                throw new MqttConnectionLostException("The client closed the connection without a packet.");
            }

            _length += read;
        }
    }

    /// <summary>Reads CONNECT and accepts it with <paramref name="connAck"/>.</summary>
    public async Task AcceptConnectAsync(MqttConnAckPacket connAck, CancellationToken cancellationToken)
    {
        Assert.IsType<MqttConnectPacket>(await ReadPacketAsync(cancellationToken));
        await SendAsync(connAck, cancellationToken);
    }

    public void Dispose() => socket.Dispose();
}
