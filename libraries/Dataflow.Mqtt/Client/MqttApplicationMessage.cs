using Dataflow.Mqtt.Protocol;

namespace Dataflow.Mqtt.Client;

/// <summary>A message to publish.</summary>
public sealed record MqttApplicationMessage
{
    public required string Topic { get; init; }

    public ReadOnlyMemory<byte> Payload { get; init; }

    public MqttQualityOfService QoS { get; init; }

    public bool Retain { get; init; }

    /// <summary>MQTT 5.0 properties (user properties, content type, message expiry, response topic...).</summary>
    public MqttProperties? Properties { get; init; }
}

/// <summary>
/// A message received from the broker. QoS 1/2 messages must be completed with <see cref="AckAsync"/> once handled:
/// only then is PUBACK/PUBREC sent. An unacknowledged message is redelivered by the broker after a reconnect when the
/// session persists, so handling must tolerate duplicates (at-least-once).
/// </summary>
public sealed class MqttReceivedMessage
{
    private readonly MqttClient? _client;
    private int _acknowledged;

    internal MqttReceivedMessage(MqttPublishPacket packet, MqttClient? client, object? connection)
    {
        Topic = packet.Topic;
        Payload = packet.Payload;
        QoS = packet.QoS;
        Retain = packet.Retain;
        Duplicate = packet.Dup;
        Properties = packet.Properties;
        PacketId = packet.PacketId;
        _client = client;
        Connection = connection;
    }

    public string Topic { get; }

    public ReadOnlyMemory<byte> Payload { get; }

    public MqttQualityOfService QoS { get; }

    public bool Retain { get; }

    /// <summary>The broker is redelivering a message it may have delivered before.</summary>
    public bool Duplicate { get; }

    public MqttProperties? Properties { get; }

    public string? ContentType => Properties?.ContentType;

    public IReadOnlyList<MqttUserProperty> UserProperties => Properties?.UserProperties ?? (IReadOnlyList<MqttUserProperty>)[];

    internal ushort PacketId { get; }

    internal object? Connection { get; }

    public bool IsAcknowledged => Volatile.Read(ref _acknowledged) != 0 || QoS == MqttQualityOfService.AtMostOnce;

    /// <summary>
    /// Completes the message: sends PUBACK (QoS 1) or PUBREC (QoS 2). Idempotent; a no-op for QoS 0. If the connection
    /// the message arrived on has been lost, nothing is sent: the broker redelivers the message on the new connection.
    /// </summary>
    public ValueTask AckAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (QoS == MqttQualityOfService.AtMostOnce || Interlocked.Exchange(ref _acknowledged, 1) != 0 || _client is null)
        {
            return ValueTask.CompletedTask;
        }

        _client.Acknowledge(this);
        return ValueTask.CompletedTask;
    }
}

public enum MqttConnectionState
{
    Disconnected,
    Connecting,
    Connected,

    /// <summary>The broker refused us permanently (bad credentials, TLS failure...); the client stopped retrying.</summary>
    Faulted,
    Stopped,
}

public sealed class MqttConnectionStateChangedEventArgs(MqttConnectionState state, Exception? error) : EventArgs
{
    public MqttConnectionState State { get; } = state;

    /// <summary>Why the connection was lost or refused, when it was.</summary>
    public Exception? Error { get; } = error;
}
