using System.Buffers;
using System.Diagnostics.CodeAnalysis;

namespace Dataflow.Mqtt.Protocol;

/// <summary>
/// Decodes MQTT 3.1.1 and 5.0 control packets. Any violation of the packet format raises
/// <see cref="MqttProtocolException"/> and nothing else.
/// </summary>
public static class MqttPacketDecoder
{
    public const int MaxRemainingLength = 268_435_455;

    private static readonly bool[] DefinedReasonCodes = BuildDefinedReasonCodes();

    private static bool[] BuildDefinedReasonCodes()
    {
        var table = new bool[256];
        foreach (var code in Enum.GetValues<MqttReasonCode>())
        {
            table[(byte)code] = true;
        }

        return table;
    }

    /// <summary>
    /// Decodes the packet at the start of <paramref name="buffer"/> and slices it off. Returns false when the buffer
    /// does not yet hold a whole packet.
    /// </summary>
    /// <param name="version">The session's protocol version (ignored for CONNECT, which declares its own).</param>
    /// <param name="maximumPacketSize">Largest accepted packet in bytes; 0 means the protocol maximum.</param>
    public static bool TryDecode(
        ref ReadOnlySequence<byte> buffer,
        MqttProtocolVersion version,
        int maximumPacketSize,
        [NotNullWhen(true)] out MqttPacket? packet)
    {
        packet = null;
        if (!TryReadFixedHeader(buffer, out var header, out var remainingLength, out var headerLength))
        {
            return false;
        }

        var total = (long)headerLength + remainingLength;
        if (maximumPacketSize > 0 && total > maximumPacketSize)
        {
            throw new MqttProtocolException(MqttReasonCode.PacketTooLarge, $"Packet of {total} bytes exceeds the maximum of {maximumPacketSize}.");
        }

        if (buffer.Length < total)
        {
            return false;
        }

        packet = Decode(header, buffer.Slice(headerLength, remainingLength), version);
        buffer = buffer.Slice(total);
        return true;
    }

    private static bool TryReadFixedHeader(in ReadOnlySequence<byte> buffer, out byte header, out int remainingLength, out int headerLength)
    {
        header = 0;
        remainingLength = 0;
        headerLength = 0;
        Span<byte> start = stackalloc byte[5];
        var available = (int)Math.Min(5, buffer.Length);
        if (available == 0)
        {
            return false;
        }

        buffer.Slice(0, available).CopyTo(start);
        header = start[0];
        for (var i = 1; i <= 4; i++)
        {
            if (i >= available)
            {
                return false;
            }

            var b = start[i];
            if (i > 1 && b == 0)
            {
                throw MqttProtocolException.Malformed("Remaining length is not minimally encoded.");
            }

            remainingLength |= (b & 0x7F) << (7 * (i - 1));
            if ((b & 0x80) == 0)
            {
                headerLength = i + 1;
                return true;
            }
        }

        throw MqttProtocolException.Malformed("Remaining length is longer than 4 bytes.");
    }

    /// <summary>Decodes one packet from its first header byte and its body (exactly remaining-length bytes).</summary>
    public static MqttPacket Decode(byte header, ReadOnlySequence<byte> body, MqttProtocolVersion version)
    {
        if (body.IsSingleSegment)
        {
            return Decode(header, body.FirstSpan, version);
        }

        var length = checked((int)body.Length);
        var rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            body.CopyTo(rented);
            return Decode(header, rented.AsSpan(0, length), version);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Decodes one packet from its first header byte and its body (exactly remaining-length bytes).</summary>
    public static MqttPacket Decode(byte header, ReadOnlySpan<byte> body, MqttProtocolVersion version)
    {
        var type = (MqttPacketType)(header >> 4);
        var flags = header & 0x0F;
        var expectedFlags = type is MqttPacketType.PubRel or MqttPacketType.Subscribe or MqttPacketType.Unsubscribe ? 2 : 0;
        if (type != MqttPacketType.Publish && flags != expectedFlags)
        {
            throw MqttProtocolException.Malformed($"Invalid fixed header flags 0x{flags:X} for packet type {(int)type}.");
        }

        var v5 = version == MqttProtocolVersion.V500;
        var reader = new MqttSpanReader(body);
        MqttPacket packet = type switch
        {
            MqttPacketType.Connect => DecodeConnect(ref reader),
            MqttPacketType.ConnAck => DecodeConnAck(ref reader, v5),
            MqttPacketType.Publish => DecodePublish(ref reader, flags, v5),
            MqttPacketType.PubAck or MqttPacketType.PubRec or MqttPacketType.PubRel or MqttPacketType.PubComp
                => DecodePublishAck(ref reader, type, v5),
            MqttPacketType.Subscribe => DecodeSubscribe(ref reader, v5),
            MqttPacketType.SubAck => DecodeSubAck(ref reader, v5),
            MqttPacketType.Unsubscribe => DecodeUnsubscribe(ref reader, v5),
            MqttPacketType.UnsubAck => DecodeUnsubAck(ref reader, v5),
            MqttPacketType.PingReq => MqttPingReqPacket.Instance,
            MqttPacketType.PingResp => MqttPingRespPacket.Instance,
            MqttPacketType.Disconnect => DecodeDisconnect(ref reader, v5),
            MqttPacketType.Auth when v5 => DecodeAuth(ref reader),
            _ => throw MqttProtocolException.Malformed($"Invalid packet type {(int)type}."),
        };

        if (!reader.End)
        {
            throw MqttProtocolException.Malformed($"{type} packet has {reader.Remaining} unexpected trailing bytes.");
        }

        return packet;
    }

    private static MqttConnectPacket DecodeConnect(ref MqttSpanReader r)
    {
        var protocolName = r.ReadString();
        var level = r.ReadByte();
        if (protocolName == "MQIsdp" || (protocolName == "MQTT" && level is not (4 or 5)))
        {
            throw new MqttProtocolException(MqttReasonCode.UnsupportedProtocolVersion, $"Unsupported protocol {protocolName} level {level}.");
        }

        if (protocolName != "MQTT")
        {
            throw MqttProtocolException.Malformed($"Unknown protocol name '{protocolName}'.");
        }

        var version = (MqttProtocolVersion)level;
        var v5 = version == MqttProtocolVersion.V500;
        var flags = r.ReadByte();
        if ((flags & 0x01) != 0)
        {
            throw MqttProtocolException.Malformed("CONNECT reserved flag is set.");
        }

        var hasWill = (flags & 0x04) != 0;
        var willQoS = (flags >> 3) & 0x03;
        var willRetain = (flags & 0x20) != 0;
        var hasPassword = (flags & 0x40) != 0;
        var hasUsername = (flags & 0x80) != 0;
        if (willQoS == 3 || (!hasWill && (willQoS != 0 || willRetain)))
        {
            throw MqttProtocolException.Malformed("CONNECT will flags are inconsistent.");
        }

        if (!v5 && hasPassword && !hasUsername)
        {
            throw MqttProtocolException.Malformed("MQTT 3.1.1 CONNECT has a password without a user name.");
        }

        var keepAlive = r.ReadUInt16();
        var properties = v5 ? MqttPropertyCodec.Read(ref r, (int)MqttPacketType.Connect) : null;
        var clientId = r.ReadString();
        MqttWill? will = null;
        if (hasWill)
        {
            var willProperties = v5 ? MqttPropertyCodec.Read(ref r, MqttPropertyCodec.WillContext) : null;
            var willTopic = r.ReadString();
            ValidateTopicName(willTopic, allowEmpty: false);
            will = new MqttWill
            {
                Topic = willTopic,
                Payload = r.ReadBinary(),
                QoS = (MqttQualityOfService)willQoS,
                Retain = willRetain,
                Properties = willProperties,
            };
        }

        var username = hasUsername ? r.ReadString() : null;
        // Not a conditional expression: null would convert to an empty, non-null memory through byte[].
        ReadOnlyMemory<byte>? password = null;
        if (hasPassword)
        {
            password = r.ReadBinary();
        }

        return new MqttConnectPacket
        {
            ProtocolVersion = version,
            CleanStart = (flags & 0x02) != 0,
            KeepAliveSeconds = keepAlive,
            ClientId = clientId,
            Will = will,
            Username = username,
            Password = password,
            Properties = properties,
        };
    }

    private static MqttConnAckPacket DecodeConnAck(ref MqttSpanReader r, bool v5)
    {
        var ackFlags = r.ReadByte();
        if ((ackFlags & 0xFE) != 0)
        {
            throw MqttProtocolException.Malformed("CONNACK reserved flags are set.");
        }

        var code = r.ReadByte();
        var reasonCode = v5 ? ReasonCode(code) : code switch
        {
            0 => MqttReasonCode.Success,
            1 => MqttReasonCode.UnsupportedProtocolVersion,
            2 => MqttReasonCode.ClientIdentifierNotValid,
            3 => MqttReasonCode.ServerUnavailable,
            4 => MqttReasonCode.BadUserNameOrPassword,
            5 => MqttReasonCode.NotAuthorized,
            _ => throw MqttProtocolException.Malformed($"Invalid CONNACK return code {code}."),
        };

        return new MqttConnAckPacket
        {
            SessionPresent = (ackFlags & 0x01) != 0,
            ReasonCode = reasonCode,
            Properties = v5 && !r.End ? MqttPropertyCodec.Read(ref r, (int)MqttPacketType.ConnAck) : null,
        };
    }

    private static MqttPublishPacket DecodePublish(ref MqttSpanReader r, int flags, bool v5)
    {
        var qos = (flags >> 1) & 0x03;
        var dup = (flags & 0x08) != 0;
        if (qos == 3)
        {
            throw MqttProtocolException.Malformed("PUBLISH QoS 3 is invalid.");
        }

        if (qos == 0 && dup)
        {
            throw MqttProtocolException.Malformed("PUBLISH QoS 0 with DUP set.");
        }

        var topic = r.ReadString();
        var packetId = qos > 0 ? PacketId(ref r) : (ushort)0;
        var properties = v5 ? MqttPropertyCodec.Read(ref r, (int)MqttPacketType.Publish) : null;
        ValidateTopicName(topic, allowEmpty: properties?.TopicAlias is not null);
        return new MqttPublishPacket
        {
            Topic = topic,
            PacketId = packetId,
            QoS = (MqttQualityOfService)qos,
            Dup = dup,
            Retain = (flags & 0x01) != 0,
            Properties = properties,
            Payload = r.ReadRest().ToArray(),
        };
    }

    private static MqttPublishAckPacket DecodePublishAck(ref MqttSpanReader r, MqttPacketType type, bool v5)
    {
        var packetId = PacketId(ref r);
        if (!v5 || r.End)
        {
            return new MqttPublishAckPacket(type, packetId);
        }

        var reasonCode = ReasonCode(r.ReadByte());
        return new MqttPublishAckPacket(type, packetId, reasonCode)
        {
            Properties = r.End ? null : MqttPropertyCodec.Read(ref r, (int)type),
        };
    }

    private static MqttSubscribePacket DecodeSubscribe(ref MqttSpanReader r, bool v5)
    {
        var packetId = PacketId(ref r);
        var properties = v5 ? MqttPropertyCodec.Read(ref r, (int)MqttPacketType.Subscribe) : null;
        var subscriptions = new List<MqttSubscription>();
        while (!r.End)
        {
            var filter = r.ReadString();
            var options = r.ReadByte();
            var qos = options & 0x03;
            var retainHandling = (options >> 4) & 0x03;
            if (qos == 3 || (v5 ? (options & 0xC0) != 0 || retainHandling == 3 : (options & 0xFC) != 0))
            {
                throw MqttProtocolException.Malformed($"Invalid subscription options 0x{options:X2}.");
            }

            subscriptions.Add(new MqttSubscription
            {
                Filter = filter,
                QoS = (MqttQualityOfService)qos,
                NoLocal = v5 && (options & 0x04) != 0,
                RetainAsPublished = v5 && (options & 0x08) != 0,
                RetainHandling = (MqttRetainHandling)retainHandling,
            });
        }

        if (subscriptions.Count == 0)
        {
            throw new MqttProtocolException(MqttReasonCode.ProtocolError, "SUBSCRIBE without topic filters.");
        }

        return new MqttSubscribePacket { PacketId = packetId, Subscriptions = subscriptions, Properties = properties };
    }

    private static MqttSubAckPacket DecodeSubAck(ref MqttSpanReader r, bool v5)
    {
        var packetId = PacketId(ref r);
        var properties = v5 ? MqttPropertyCodec.Read(ref r, (int)MqttPacketType.SubAck) : null;
        var codes = new List<MqttReasonCode>();
        while (!r.End)
        {
            var code = r.ReadByte();
            codes.Add(v5 ? ReasonCode(code) : code switch
            {
                0 or 1 or 2 => (MqttReasonCode)code,
                0x80 => MqttReasonCode.UnspecifiedError,
                _ => throw MqttProtocolException.Malformed($"Invalid SUBACK return code 0x{code:X2}."),
            });
        }

        if (codes.Count == 0)
        {
            throw MqttProtocolException.Malformed("SUBACK without return codes.");
        }

        return new MqttSubAckPacket { PacketId = packetId, ReasonCodes = codes, Properties = properties };
    }

    private static MqttUnsubscribePacket DecodeUnsubscribe(ref MqttSpanReader r, bool v5)
    {
        var packetId = PacketId(ref r);
        var properties = v5 ? MqttPropertyCodec.Read(ref r, (int)MqttPacketType.Unsubscribe) : null;
        var filters = new List<string>();
        while (!r.End)
        {
            filters.Add(r.ReadString());
        }

        if (filters.Count == 0)
        {
            throw new MqttProtocolException(MqttReasonCode.ProtocolError, "UNSUBSCRIBE without topic filters.");
        }

        return new MqttUnsubscribePacket { PacketId = packetId, Filters = filters, Properties = properties };
    }

    private static MqttUnsubAckPacket DecodeUnsubAck(ref MqttSpanReader r, bool v5)
    {
        var packetId = PacketId(ref r);
        if (!v5)
        {
            return new MqttUnsubAckPacket { PacketId = packetId };
        }

        var properties = MqttPropertyCodec.Read(ref r, (int)MqttPacketType.UnsubAck);
        var codes = new List<MqttReasonCode>();
        while (!r.End)
        {
            codes.Add(ReasonCode(r.ReadByte()));
        }

        if (codes.Count == 0)
        {
            throw MqttProtocolException.Malformed("UNSUBACK without reason codes.");
        }

        return new MqttUnsubAckPacket { PacketId = packetId, ReasonCodes = codes, Properties = properties };
    }

    private static MqttDisconnectPacket DecodeDisconnect(ref MqttSpanReader r, bool v5)
    {
        if (!v5 || r.End)
        {
            return new MqttDisconnectPacket();
        }

        var reasonCode = ReasonCode(r.ReadByte());
        return new MqttDisconnectPacket
        {
            ReasonCode = reasonCode,
            Properties = r.End ? null : MqttPropertyCodec.Read(ref r, (int)MqttPacketType.Disconnect),
        };
    }

    private static MqttAuthPacket DecodeAuth(ref MqttSpanReader r)
    {
        if (r.End)
        {
            return new MqttAuthPacket();
        }

        var reasonCode = ReasonCode(r.ReadByte());
        if (reasonCode is not (MqttReasonCode.Success or MqttReasonCode.ContinueAuthentication or MqttReasonCode.ReAuthenticate))
        {
            throw MqttProtocolException.Malformed($"Invalid AUTH reason code 0x{(byte)reasonCode:X2}.");
        }

        return new MqttAuthPacket
        {
            ReasonCode = reasonCode,
            Properties = r.End ? null : MqttPropertyCodec.Read(ref r, (int)MqttPacketType.Auth),
        };
    }

    private static ushort PacketId(ref MqttSpanReader r)
    {
        var id = r.ReadUInt16();
        return id != 0 ? id : throw MqttProtocolException.Malformed("Packet identifier 0 is not allowed.");
    }

    private static MqttReasonCode ReasonCode(byte code) => DefinedReasonCodes[code]
        ? (MqttReasonCode)code
        : throw MqttProtocolException.Malformed($"Unknown reason code 0x{code:X2}.");

    private static void ValidateTopicName(string topic, bool allowEmpty)
    {
        if (topic.Length == 0 && !allowEmpty)
        {
            throw new MqttProtocolException(MqttReasonCode.TopicNameInvalid, "Topic name is empty.");
        }

        if (topic.AsSpan().IndexOfAny('+', '#') >= 0)
        {
            throw new MqttProtocolException(MqttReasonCode.TopicNameInvalid, $"Topic name '{topic}' contains a wildcard.");
        }
    }
}
