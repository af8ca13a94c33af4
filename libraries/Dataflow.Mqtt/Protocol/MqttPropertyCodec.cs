namespace Dataflow.Mqtt.Protocol;

/// <summary>Encodes and decodes the MQTT 5.0 property block, enforcing which packet may carry which property.</summary>
internal static class MqttPropertyCodec
{
    /// <summary>Bit used for the will properties inside CONNECT (packet type 0 is otherwise reserved).</summary>
    public const int WillContext = 0;

    private const ushort Publish = 1 << (int)MqttPacketType.Publish;
    private const ushort Will = 1 << WillContext;
    private const ushort Connect = 1 << (int)MqttPacketType.Connect;
    private const ushort ConnAck = 1 << (int)MqttPacketType.ConnAck;
    private const ushort Subscribe = 1 << (int)MqttPacketType.Subscribe;
    private const ushort Disconnect = 1 << (int)MqttPacketType.Disconnect;
    private const ushort Auth = 1 << (int)MqttPacketType.Auth;
    private const ushort Acks = (1 << (int)MqttPacketType.PubAck) | (1 << (int)MqttPacketType.PubRec)
        | (1 << (int)MqttPacketType.PubRel) | (1 << (int)MqttPacketType.PubComp)
        | (1 << (int)MqttPacketType.SubAck) | (1 << (int)MqttPacketType.UnsubAck);
    private const ushort All = 0xFFFF;

    private static readonly ushort[] Allowed = BuildAllowedTable();

    private static ushort[] BuildAllowedTable()
    {
        var table = new ushort[0x2B];
        table[0x01] = Publish | Will;
        table[0x02] = Publish | Will;
        table[0x03] = Publish | Will;
        table[0x08] = Publish | Will;
        table[0x09] = Publish | Will;
        table[0x0B] = Publish | Subscribe;
        table[0x11] = Connect | ConnAck | Disconnect;
        table[0x12] = ConnAck;
        table[0x13] = ConnAck;
        table[0x15] = Connect | ConnAck | Auth;
        table[0x16] = Connect | ConnAck | Auth;
        table[0x17] = Connect;
        table[0x18] = Will;
        table[0x19] = Connect;
        table[0x1A] = ConnAck;
        table[0x1C] = ConnAck | Disconnect;
        table[0x1F] = ConnAck | Acks | Disconnect | Auth;
        table[0x21] = Connect | ConnAck;
        table[0x22] = Connect | ConnAck;
        table[0x23] = Publish;
        table[0x24] = ConnAck;
        table[0x25] = ConnAck;
        table[0x26] = All;
        table[0x27] = Connect | ConnAck;
        table[0x28] = ConnAck;
        table[0x29] = ConnAck;
        table[0x2A] = ConnAck;
        return table;
    }

    public static MqttProperties? Read(ref MqttSpanReader reader, int context)
    {
        var length = reader.ReadVariableByteInteger();
        if (length == 0)
        {
            return null;
        }

        var block = new MqttSpanReader(reader.ReadSpan(length));
        var properties = new MqttProperties();
        var seen = 0UL;
        while (!block.End)
        {
            var id = block.ReadVariableByteInteger();
            if (id >= Allowed.Length || (Allowed[id] & (1 << context)) == 0)
            {
                throw MqttProtocolException.Malformed($"Property 0x{id:X2} is not valid in this packet.");
            }

            if (id is not (0x26 or 0x0B))
            {
                if ((seen & (1UL << id)) != 0)
                {
                    throw new MqttProtocolException(MqttReasonCode.ProtocolError, $"Property 0x{id:X2} appears more than once.");
                }

                seen |= 1UL << id;
            }

            ReadValue(ref block, id, properties);
        }

        return properties;
    }

    private static void ReadValue(ref MqttSpanReader r, int id, MqttProperties p)
    {
        switch (id)
        {
            case 0x01: p.PayloadFormatIndicator = ZeroOrOne(r.ReadByte(), id); break;
            case 0x02: p.MessageExpiryInterval = r.ReadUInt32(); break;
            case 0x03: p.ContentType = r.ReadString(); break;
            case 0x08: p.ResponseTopic = r.ReadString(); break;
            case 0x09: p.CorrelationData = r.ReadBinary(); break;
            case 0x0B:
                var subscriptionId = r.ReadVariableByteInteger();
                if (subscriptionId == 0)
                {
                    throw new MqttProtocolException(MqttReasonCode.ProtocolError, "Subscription identifier 0 is not allowed.");
                }

                (p.SubscriptionIdentifiers ??= []).Add(subscriptionId);
                break;
            case 0x11: p.SessionExpiryInterval = r.ReadUInt32(); break;
            case 0x12: p.AssignedClientIdentifier = r.ReadString(); break;
            case 0x13: p.ServerKeepAlive = r.ReadUInt16(); break;
            case 0x15: p.AuthenticationMethod = r.ReadString(); break;
            case 0x16: p.AuthenticationData = r.ReadBinary(); break;
            case 0x17: p.RequestProblemInformation = ZeroOrOne(r.ReadByte(), id) == 1; break;
            case 0x18: p.WillDelayInterval = r.ReadUInt32(); break;
            case 0x19: p.RequestResponseInformation = ZeroOrOne(r.ReadByte(), id) == 1; break;
            case 0x1A: p.ResponseInformation = r.ReadString(); break;
            case 0x1C: p.ServerReference = r.ReadString(); break;
            case 0x1F: p.ReasonString = r.ReadString(); break;
            case 0x21: p.ReceiveMaximum = NonZero(r.ReadUInt16(), id); break;
            case 0x22: p.TopicAliasMaximum = r.ReadUInt16(); break;
            case 0x23: p.TopicAlias = NonZero(r.ReadUInt16(), id); break;
            case 0x24: p.MaximumQoS = ZeroOrOne(r.ReadByte(), id); break;
            case 0x25: p.RetainAvailable = ZeroOrOne(r.ReadByte(), id) == 1; break;
            case 0x26:
                var name = r.ReadString();
                (p.UserProperties ??= []).Add(new MqttUserProperty(name, r.ReadString()));
                break;
            case 0x27:
                var maximumPacketSize = r.ReadUInt32();
                if (maximumPacketSize == 0)
                {
                    throw new MqttProtocolException(MqttReasonCode.ProtocolError, "Maximum packet size 0 is not allowed.");
                }

                p.MaximumPacketSize = maximumPacketSize;
                break;
            case 0x28: p.WildcardSubscriptionAvailable = ZeroOrOne(r.ReadByte(), id) == 1; break;
            case 0x29: p.SubscriptionIdentifiersAvailable = ZeroOrOne(r.ReadByte(), id) == 1; break;
            case 0x2A: p.SharedSubscriptionAvailable = ZeroOrOne(r.ReadByte(), id) == 1; break;
            default: throw MqttProtocolException.Malformed($"Unknown property 0x{id:X2}.");
        }
    }

    private static byte ZeroOrOne(byte value, int id) => value <= 1
        ? value
        : throw new MqttProtocolException(MqttReasonCode.ProtocolError, $"Property 0x{id:X2} must be 0 or 1.");

    private static ushort NonZero(ushort value, int id) => value != 0
        ? value
        : throw new MqttProtocolException(MqttReasonCode.ProtocolError, $"Property 0x{id:X2} must not be 0.");

    public static void Write(ref MqttSpanWriter writer, MqttProperties? properties, int context)
    {
        if (properties is null)
        {
            writer.WriteByte(0);
            return;
        }

        var measure = MqttSpanWriter.Measuring();
        WriteValues(ref measure, properties, context);
        writer.WriteVariableByteInteger(measure.Position);
        WriteValues(ref writer, properties, context);
    }

    private static void WriteValues(ref MqttSpanWriter w, MqttProperties p, int context)
    {
        if (p.PayloadFormatIndicator is { } pfi) { Id(ref w, 0x01, context); w.WriteByte(pfi); }
        if (p.MessageExpiryInterval is { } mei) { Id(ref w, 0x02, context); w.WriteUInt32(mei); }
        if (p.ContentType is { } ct) { Id(ref w, 0x03, context); w.WriteString(ct); }
        if (p.ResponseTopic is { } rt) { Id(ref w, 0x08, context); w.WriteString(rt); }
        if (p.CorrelationData is { } cd) { Id(ref w, 0x09, context); w.WriteBinary(cd.Span); }
        if (p.SubscriptionIdentifiers is { } sids)
        {
            foreach (var sid in sids)
            {
                Id(ref w, 0x0B, context);
                w.WriteVariableByteInteger(sid);
            }
        }

        if (p.SessionExpiryInterval is { } sei) { Id(ref w, 0x11, context); w.WriteUInt32(sei); }
        if (p.AssignedClientIdentifier is { } aci) { Id(ref w, 0x12, context); w.WriteString(aci); }
        if (p.ServerKeepAlive is { } ska) { Id(ref w, 0x13, context); w.WriteUInt16(ska); }
        if (p.AuthenticationMethod is { } am) { Id(ref w, 0x15, context); w.WriteString(am); }
        if (p.AuthenticationData is { } ad) { Id(ref w, 0x16, context); w.WriteBinary(ad.Span); }
        if (p.RequestProblemInformation is { } rpi) { Id(ref w, 0x17, context); w.WriteByte(rpi ? (byte)1 : (byte)0); }
        if (p.WillDelayInterval is { } wdi) { Id(ref w, 0x18, context); w.WriteUInt32(wdi); }
        if (p.RequestResponseInformation is { } rri) { Id(ref w, 0x19, context); w.WriteByte(rri ? (byte)1 : (byte)0); }
        if (p.ResponseInformation is { } ri) { Id(ref w, 0x1A, context); w.WriteString(ri); }
        if (p.ServerReference is { } sr) { Id(ref w, 0x1C, context); w.WriteString(sr); }
        if (p.ReasonString is { } rs) { Id(ref w, 0x1F, context); w.WriteString(rs); }
        if (p.ReceiveMaximum is { } rm) { Id(ref w, 0x21, context); w.WriteUInt16(rm); }
        if (p.TopicAliasMaximum is { } tam) { Id(ref w, 0x22, context); w.WriteUInt16(tam); }
        if (p.TopicAlias is { } ta) { Id(ref w, 0x23, context); w.WriteUInt16(ta); }
        if (p.MaximumQoS is { } mq) { Id(ref w, 0x24, context); w.WriteByte(mq); }
        if (p.RetainAvailable is { } ra) { Id(ref w, 0x25, context); w.WriteByte(ra ? (byte)1 : (byte)0); }
        if (p.UserProperties is { } ups)
        {
            foreach (var up in ups)
            {
                Id(ref w, 0x26, context);
                w.WriteString(up.Name);
                w.WriteString(up.Value);
            }
        }

        if (p.MaximumPacketSize is { } mps) { Id(ref w, 0x27, context); w.WriteUInt32(mps); }
        if (p.WildcardSubscriptionAvailable is { } wsa) { Id(ref w, 0x28, context); w.WriteByte(wsa ? (byte)1 : (byte)0); }
        if (p.SubscriptionIdentifiersAvailable is { } sia) { Id(ref w, 0x29, context); w.WriteByte(sia ? (byte)1 : (byte)0); }
        if (p.SharedSubscriptionAvailable is { } ssa) { Id(ref w, 0x2A, context); w.WriteByte(ssa ? (byte)1 : (byte)0); }
    }

    private static void Id(ref MqttSpanWriter w, byte id, int context)
    {
        if ((Allowed[id] & (1 << context)) == 0)
        {
            throw new ArgumentException($"Property 0x{id:X2} may not be sent in this packet.");
        }

        w.WriteByte(id);
    }
}
