using Dataflow.Mqtt.Protocol;

namespace Dataflow.Mqtt.Broker;

/// <summary>A message as the broker holds it: payload plus absolute expiry.</summary>
internal sealed record BrokerMessage(
    string Topic,
    ReadOnlyMemory<byte> Payload,
    MqttQualityOfService QoS,
    bool Retain,
    MqttProperties? Properties,
    long ExpiresAt,
    BrokerSession? Publisher)
{
    public bool IsExpired(long now) => ExpiresAt != 0 && now >= ExpiresAt;
}

/// <summary>One message on its way to one session, with the QoS and retain flag of that subscription.</summary>
internal readonly record struct BrokerDelivery(BrokerMessage Message, MqttQualityOfService QoS, bool Retain);

internal sealed record BrokerSubscription(MqttSubscription Options, string? ShareGroup, string Filter);

internal sealed class BrokerFlight(BrokerDelivery delivery, MqttPublishPacket packet, long sequence)
{
    public long Sequence { get; } = sequence;

    public BrokerDelivery Delivery { get; } = delivery;

    public MqttPublishPacket Packet { get; } = packet;

    /// <summary>QoS 2: PUBREC received, PUBREL sent.</summary>
    public bool Released { get; set; }
}

/// <summary>Session state; every member is guarded by the broker lock.</summary>
internal sealed class BrokerSession(string clientId)
{
    public string ClientId { get; } = clientId;

    public Dictionary<string, BrokerSubscription> Subscriptions { get; } = new(StringComparer.Ordinal);

    public BrokerConnection? Connection { get; set; }

    /// <summary>Deliveries waiting for the client to come back or for in-flight room.</summary>
    public Queue<BrokerDelivery> Queue { get; } = new();

    /// <summary>Outgoing QoS 1/2 messages not yet completed, in send order.</summary>
    public Dictionary<ushort, BrokerFlight> Inflight { get; } = [];

    public MqttPacketIdPool PacketIds { get; } = new();

    /// <summary>The client's Receive Maximum.</summary>
    public int SendQuota { get; set; }

    /// <summary>Incoming QoS 2 ids for which PUBREC was sent and PUBREL is awaited.</summary>
    public HashSet<ushort> IncomingQoS2 { get; } = [];

    public uint ExpirySeconds { get; set; }

    /// <summary>Tick count after which an offline session is discarded; long.MaxValue for never.</summary>
    public long ExpiresAt { get; set; } = long.MaxValue;

    public CancellationTokenSource? PendingWill { get; set; }

    public bool IsExpired(long now) => Connection is null && now >= ExpiresAt;
}

/// <summary>One accepted client connection.</summary>
internal sealed class BrokerConnection(MqttPacketConnection packets, BrokerSession session, MqttConnectPacket connect)
{
    public MqttPacketConnection Packets { get; } = packets;

    public BrokerSession Session { get; } = session;

    public MqttProtocolVersion Version { get; } = connect.ProtocolVersion;

    public MqttWill? Will { get; set; } = connect.Will;

    public TimeSpan KeepAlive { get; } = TimeSpan.FromSeconds(connect.KeepAliveSeconds);
}
