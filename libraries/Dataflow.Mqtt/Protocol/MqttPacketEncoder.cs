using System.Buffers;

namespace Dataflow.Mqtt.Protocol;

/// <summary>
/// Encodes MQTT control packets straight into an <see cref="IBufferWriter{T}"/> (a PipeWriter in practice), sizing
/// the packet first so it is written in one pass without intermediate buffers. Properties are dropped for 3.1.1.
/// Invalid packets built by the caller (for example QoS 1 without a packet id) raise <see cref="ArgumentException"/>.
/// </summary>
public static class MqttPacketEncoder
{
    /// <summary>The encoded size of <paramref name="packet"/> in bytes, fixed header included.</summary>
    public static int GetSize(MqttPacket packet, MqttProtocolVersion version)
    {
        ArgumentNullException.ThrowIfNull(packet);
        var measure = MqttSpanWriter.Measuring();
        WriteBody(ref measure, packet, version);
        return 1 + MqttSpanWriter.VariableByteIntegerSize(measure.Position) + measure.Position;
    }

    /// <summary>Writes <paramref name="packet"/> and returns the number of bytes written.</summary>
    public static int Write(IBufferWriter<byte> output, MqttPacket packet, MqttProtocolVersion version)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(packet);
        var measure = MqttSpanWriter.Measuring();
        WriteBody(ref measure, packet, version);
        var bodyLength = measure.Position;
        if (bodyLength > MqttPacketDecoder.MaxRemainingLength)
        {
            throw new ArgumentException($"Packet body of {bodyLength} bytes exceeds the MQTT maximum.", nameof(packet));
        }

        var total = 1 + MqttSpanWriter.VariableByteIntegerSize(bodyLength) + bodyLength;
        var writer = new MqttSpanWriter(output.GetSpan(total));
        writer.WriteByte(FixedHeader(packet));
        writer.WriteVariableByteInteger(bodyLength);
        WriteBody(ref writer, packet, version);
        output.Advance(total);
        return total;
    }

    private static byte FixedHeader(MqttPacket packet)
    {
        var type = (byte)((byte)packet.Type << 4);
        return packet switch
        {
            MqttPublishPacket p => (byte)(type | (p.Dup ? 0x08 : 0) | ((byte)p.QoS << 1) | (p.Retain ? 0x01 : 0)),
            MqttPublishAckPacket { Type: MqttPacketType.PubRel } or MqttSubscribePacket or MqttUnsubscribePacket => (byte)(type | 0x02),
            _ => type,
        };
    }

    private static void WriteBody(ref MqttSpanWriter w, MqttPacket packet, MqttProtocolVersion version)
    {
        var v5 = version == MqttProtocolVersion.V500;
        switch (packet)
        {
            case MqttConnectPacket p: WriteConnect(ref w, p); break;
            case MqttConnAckPacket p:
                w.WriteByte(p.SessionPresent ? (byte)1 : (byte)0);
                w.WriteByte(v5 ? (byte)p.ReasonCode : ToV311ConnAckCode(p.ReasonCode));
                if (v5)
                {
                    MqttPropertyCodec.Write(ref w, p.Properties, (int)MqttPacketType.ConnAck);
                }

                break;
            case MqttPublishPacket p: WritePublish(ref w, p, v5); break;
            case MqttPublishAckPacket p:
                w.WriteUInt16(RequirePacketId(p.PacketId));
                if (v5 && (p.ReasonCode != MqttReasonCode.Success || p.Properties is not null))
                {
                    w.WriteByte((byte)p.ReasonCode);
                    if (p.Properties is not null)
                    {
                        MqttPropertyCodec.Write(ref w, p.Properties, (int)p.Type);
                    }
                }

                break;
            case MqttSubscribePacket p:
                w.WriteUInt16(RequirePacketId(p.PacketId));
                if (v5)
                {
                    MqttPropertyCodec.Write(ref w, p.Properties, (int)MqttPacketType.Subscribe);
                }

                if (p.Subscriptions.Count == 0)
                {
                    throw new ArgumentException("SUBSCRIBE needs at least one topic filter.", nameof(packet));
                }

                foreach (var s in p.Subscriptions)
                {
                    w.WriteString(s.Filter);
                    var options = (byte)s.QoS;
                    if (v5)
                    {
                        options |= (byte)((s.NoLocal ? 0x04 : 0) | (s.RetainAsPublished ? 0x08 : 0) | ((byte)s.RetainHandling << 4));
                    }

                    w.WriteByte(options);
                }

                break;
            case MqttSubAckPacket p:
                w.WriteUInt16(RequirePacketId(p.PacketId));
                if (v5)
                {
                    MqttPropertyCodec.Write(ref w, p.Properties, (int)MqttPacketType.SubAck);
                }

                foreach (var code in p.ReasonCodes)
                {
                    w.WriteByte(v5 || code <= MqttReasonCode.GrantedQoS2 ? (byte)code : (byte)0x80);
                }

                break;
            case MqttUnsubscribePacket p:
                w.WriteUInt16(RequirePacketId(p.PacketId));
                if (v5)
                {
                    MqttPropertyCodec.Write(ref w, p.Properties, (int)MqttPacketType.Unsubscribe);
                }

                if (p.Filters.Count == 0)
                {
                    throw new ArgumentException("UNSUBSCRIBE needs at least one topic filter.", nameof(packet));
                }

                foreach (var filter in p.Filters)
                {
                    w.WriteString(filter);
                }

                break;
            case MqttUnsubAckPacket p:
                w.WriteUInt16(RequirePacketId(p.PacketId));
                if (v5)
                {
                    MqttPropertyCodec.Write(ref w, p.Properties, (int)MqttPacketType.UnsubAck);
                    foreach (var code in p.ReasonCodes)
                    {
                        w.WriteByte((byte)code);
                    }
                }

                break;
            case MqttPingReqPacket or MqttPingRespPacket: break;
            case MqttDisconnectPacket p:
                if (v5 && (p.ReasonCode != MqttReasonCode.NormalDisconnection || p.Properties is not null))
                {
                    w.WriteByte((byte)p.ReasonCode);
                    MqttPropertyCodec.Write(ref w, p.Properties, (int)MqttPacketType.Disconnect);
                }

                break;
            case MqttAuthPacket p:
                if (!v5)
                {
                    throw new ArgumentException("AUTH exists only in MQTT 5.0.", nameof(packet));
                }

                w.WriteByte((byte)p.ReasonCode);
                MqttPropertyCodec.Write(ref w, p.Properties, (int)MqttPacketType.Auth);
                break;
            default:
                throw new ArgumentException($"Unknown packet type {packet.GetType().Name}.", nameof(packet));
        }
    }

    private static void WriteConnect(ref MqttSpanWriter w, MqttConnectPacket p)
    {
        var v5 = p.ProtocolVersion == MqttProtocolVersion.V500;
        if (!v5 && p.Password is not null && p.Username is null)
        {
            throw new ArgumentException("MQTT 3.1.1 does not allow a password without a user name.", nameof(p));
        }

        w.WriteString("MQTT");
        w.WriteByte((byte)p.ProtocolVersion);
        var flags = (p.CleanStart ? 0x02 : 0)
            | (p.Will is { } will ? 0x04 | ((byte)will.QoS << 3) | (will.Retain ? 0x20 : 0) : 0)
            | (p.Password is not null ? 0x40 : 0)
            | (p.Username is not null ? 0x80 : 0);
        w.WriteByte((byte)flags);
        w.WriteUInt16(p.KeepAliveSeconds);
        if (v5)
        {
            MqttPropertyCodec.Write(ref w, p.Properties, (int)MqttPacketType.Connect);
        }

        w.WriteString(p.ClientId);
        if (p.Will is { } w2)
        {
            if (v5)
            {
                MqttPropertyCodec.Write(ref w, w2.Properties, MqttPropertyCodec.WillContext);
            }

            w.WriteString(w2.Topic);
            w.WriteBinary(w2.Payload.Span);
        }

        if (p.Username is not null)
        {
            w.WriteString(p.Username);
        }

        if (p.Password is { } password)
        {
            w.WriteBinary(password.Span);
        }
    }

    private static void WritePublish(ref MqttSpanWriter w, MqttPublishPacket p, bool v5)
    {
        if (p.QoS > MqttQualityOfService.ExactlyOnce)
        {
            throw new ArgumentException("QoS must be 0, 1 or 2.", nameof(p));
        }

        w.WriteString(p.Topic);
        if (p.QoS != MqttQualityOfService.AtMostOnce)
        {
            w.WriteUInt16(RequirePacketId(p.PacketId));
        }

        if (v5)
        {
            MqttPropertyCodec.Write(ref w, p.Properties, (int)MqttPacketType.Publish);
        }

        w.WriteBytes(p.Payload.Span);
    }

    private static ushort RequirePacketId(ushort packetId) => packetId != 0
        ? packetId
        : throw new ArgumentException("Packet identifier must be 1..65535.", nameof(packetId));

    private static byte ToV311ConnAckCode(MqttReasonCode code) => code switch
    {
        MqttReasonCode.Success => 0,
        MqttReasonCode.UnsupportedProtocolVersion => 1,
        MqttReasonCode.ClientIdentifierNotValid => 2,
        MqttReasonCode.BadUserNameOrPassword => 4,
        MqttReasonCode.NotAuthorized or MqttReasonCode.Banned => 5,
        _ => 3,
    };
}
