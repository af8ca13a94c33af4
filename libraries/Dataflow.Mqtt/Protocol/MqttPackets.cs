namespace Dataflow.Mqtt.Protocol;

/// <summary>Base of every MQTT control packet.</summary>
public abstract record MqttPacket
{
    public abstract MqttPacketType Type { get; }
}

public sealed record MqttWill
{
    public required string Topic { get; init; }
    public ReadOnlyMemory<byte> Payload { get; init; }
    public MqttQualityOfService QoS { get; init; }
    public bool Retain { get; init; }
    public MqttProperties? Properties { get; init; }
}

public sealed record MqttConnectPacket : MqttPacket
{
    public override MqttPacketType Type => MqttPacketType.Connect;
    public MqttProtocolVersion ProtocolVersion { get; init; } = MqttProtocolVersion.V500;
    public string ClientId { get; init; } = "";
    public bool CleanStart { get; init; } = true;
    public ushort KeepAliveSeconds { get; init; }
    public string? Username { get; init; }
    public ReadOnlyMemory<byte>? Password { get; init; }
    public MqttWill? Will { get; init; }
    public MqttProperties? Properties { get; init; }
}

public sealed record MqttConnAckPacket : MqttPacket
{
    public override MqttPacketType Type => MqttPacketType.ConnAck;
    public bool SessionPresent { get; init; }
    public MqttReasonCode ReasonCode { get; init; }
    public MqttProperties? Properties { get; init; }
}

public sealed record MqttPublishPacket : MqttPacket
{
    public override MqttPacketType Type => MqttPacketType.Publish;
    public required string Topic { get; init; }
    public ReadOnlyMemory<byte> Payload { get; init; }
    public MqttQualityOfService QoS { get; init; }
    public bool Retain { get; init; }
    public bool Dup { get; init; }
    /// <summary>Zero for QoS 0, otherwise 1..65535.</summary>
    public ushort PacketId { get; init; }
    public MqttProperties? Properties { get; init; }
}

/// <summary>PUBACK, PUBREC, PUBREL and PUBCOMP share one shape.</summary>
public sealed record MqttPublishAckPacket : MqttPacket
{
    public MqttPublishAckPacket(MqttPacketType type, ushort packetId, MqttReasonCode reasonCode = MqttReasonCode.Success)
    {
        if (type is not (MqttPacketType.PubAck or MqttPacketType.PubRec or MqttPacketType.PubRel or MqttPacketType.PubComp))
        {
            throw new ArgumentOutOfRangeException(nameof(type), type, "Only PUBACK, PUBREC, PUBREL and PUBCOMP.");
        }

        Type = type;
        PacketId = packetId;
        ReasonCode = reasonCode;
    }

    public override MqttPacketType Type { get; }
    public ushort PacketId { get; init; }
    public MqttReasonCode ReasonCode { get; init; }
    public MqttProperties? Properties { get; init; }
}

public sealed record MqttSubscription
{
    public required string Filter { get; init; }
    public MqttQualityOfService QoS { get; init; }
    public bool NoLocal { get; init; }
    public bool RetainAsPublished { get; init; }
    public MqttRetainHandling RetainHandling { get; init; }
}

public sealed record MqttSubscribePacket : MqttPacket
{
    public override MqttPacketType Type => MqttPacketType.Subscribe;
    public ushort PacketId { get; init; }
    public required IReadOnlyList<MqttSubscription> Subscriptions { get; init; }
    public MqttProperties? Properties { get; init; }
}

public sealed record MqttSubAckPacket : MqttPacket
{
    public override MqttPacketType Type => MqttPacketType.SubAck;
    public ushort PacketId { get; init; }
    public required IReadOnlyList<MqttReasonCode> ReasonCodes { get; init; }
    public MqttProperties? Properties { get; init; }
}

public sealed record MqttUnsubscribePacket : MqttPacket
{
    public override MqttPacketType Type => MqttPacketType.Unsubscribe;
    public ushort PacketId { get; init; }
    public required IReadOnlyList<string> Filters { get; init; }
    public MqttProperties? Properties { get; init; }
}

/// <summary>UNSUBACK. MQTT 3.1.1 carries no reason codes; the decoder reports an empty list.</summary>
public sealed record MqttUnsubAckPacket : MqttPacket
{
    public override MqttPacketType Type => MqttPacketType.UnsubAck;
    public ushort PacketId { get; init; }
    public IReadOnlyList<MqttReasonCode> ReasonCodes { get; init; } = [];
    public MqttProperties? Properties { get; init; }
}

public sealed record MqttPingReqPacket : MqttPacket
{
    public static readonly MqttPingReqPacket Instance = new();
    public override MqttPacketType Type => MqttPacketType.PingReq;
}

public sealed record MqttPingRespPacket : MqttPacket
{
    public static readonly MqttPingRespPacket Instance = new();
    public override MqttPacketType Type => MqttPacketType.PingResp;
}

public sealed record MqttDisconnectPacket : MqttPacket
{
    public override MqttPacketType Type => MqttPacketType.Disconnect;
    public MqttReasonCode ReasonCode { get; init; }
    public MqttProperties? Properties { get; init; }
}

/// <summary>AUTH (MQTT 5.0 only).</summary>
public sealed record MqttAuthPacket : MqttPacket
{
    public override MqttPacketType Type => MqttPacketType.Auth;
    public MqttReasonCode ReasonCode { get; init; }
    public MqttProperties? Properties { get; init; }
}
