using System.Buffers;
using Dataflow.Mqtt.Protocol;

namespace Dataflow.Tests.Unit.Mqtt;

[Trait("Category", "Unit")]
public sealed class MqttCodecTests
{
    public static TheoryData<MqttProtocolVersion> Versions => new() { MqttProtocolVersion.V311, MqttProtocolVersion.V500 };

    private static byte[] Encode(MqttPacket packet, MqttProtocolVersion version)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var written = MqttPacketEncoder.Write(buffer, packet, version);
        Assert.Equal(buffer.WrittenCount, written);
        Assert.Equal(written, MqttPacketEncoder.GetSize(packet, version));
        return buffer.WrittenSpan.ToArray();
    }

    private static T RoundTrip<T>(T packet, MqttProtocolVersion version)
        where T : MqttPacket
    {
        var sequence = new ReadOnlySequence<byte>(Encode(packet, version));
        Assert.True(MqttPacketDecoder.TryDecode(ref sequence, version, 0, out var decoded));
        Assert.True(sequence.IsEmpty);
        return Assert.IsType<T>(decoded);
    }

    private static MqttProperties PublishProperties() => new MqttProperties
    {
        PayloadFormatIndicator = 1,
        MessageExpiryInterval = 60,
        ContentType = "application/json",
        ResponseTopic = "reply/to",
        CorrelationData = new byte[] { 1, 2, 3 },
    }.AddUserProperty("tenant", "ä-1").AddUserProperty("tenant", "b-2");

    [Theory]
    [MemberData(nameof(Versions))]
    public void Connect_with_will_and_credentials_round_trips(MqttProtocolVersion version)
    {
        var v5 = version == MqttProtocolVersion.V500;
        var packet = new MqttConnectPacket
        {
            ProtocolVersion = version,
            ClientId = "client-ü",
            CleanStart = false,
            KeepAliveSeconds = 30,
            Username = "user",
            Password = new byte[] { 9, 8, 7 },
            Will = new MqttWill
            {
                Topic = "status/client",
                Payload = "gone"u8.ToArray(),
                QoS = MqttQualityOfService.AtLeastOnce,
                Retain = true,
                Properties = v5 ? new MqttProperties { WillDelayInterval = 5, ContentType = "text/plain" } : null,
            },
            Properties = v5 ? new MqttProperties { SessionExpiryInterval = 3600, ReceiveMaximum = 100, MaximumPacketSize = 1 << 20 } : null,
        };

        var decoded = RoundTrip(packet, version);

        Assert.Equal(version, decoded.ProtocolVersion);
        Assert.Equal("client-ü", decoded.ClientId);
        Assert.False(decoded.CleanStart);
        Assert.Equal(30, decoded.KeepAliveSeconds);
        Assert.Equal("user", decoded.Username);
        Assert.Equal(new byte[] { 9, 8, 7 }, decoded.Password!.Value.ToArray());
        Assert.Equal("status/client", decoded.Will!.Topic);
        Assert.Equal("gone"u8.ToArray(), decoded.Will.Payload.ToArray());
        Assert.Equal(MqttQualityOfService.AtLeastOnce, decoded.Will.QoS);
        Assert.True(decoded.Will.Retain);
        if (v5)
        {
            Assert.Equal(3600u, decoded.Properties!.SessionExpiryInterval);
            Assert.Equal((ushort)100, decoded.Properties.ReceiveMaximum);
            Assert.Equal(5u, decoded.Will.Properties!.WillDelayInterval);
            Assert.Equal("text/plain", decoded.Will.Properties.ContentType);
        }
        else
        {
            Assert.Null(decoded.Properties);
        }
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public void Connect_without_credentials_or_will_round_trips_with_nothing_set(MqttProtocolVersion version)
    {
        var bytes = Encode(new MqttConnectPacket { ProtocolVersion = version, ClientId = "c", KeepAliveSeconds = 10 }, version);

        var decoded = RoundTrip(new MqttConnectPacket { ProtocolVersion = version, ClientId = "c", KeepAliveSeconds = 10 }, version);

        Assert.Equal(0x02, bytes[9]);
        Assert.Null(decoded.Username);
        Assert.Null(decoded.Password);
        Assert.Null(decoded.Will);
        Assert.True(decoded.CleanStart);
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public void Publish_of_every_qos_round_trips_with_properties(MqttProtocolVersion version)
    {
        foreach (var qos in new[] { MqttQualityOfService.AtMostOnce, MqttQualityOfService.AtLeastOnce, MqttQualityOfService.ExactlyOnce })
        {
            var packet = new MqttPublishPacket
            {
                Topic = "a/b/c",
                Payload = new byte[300],
                QoS = qos,
                Retain = true,
                Dup = qos != MqttQualityOfService.AtMostOnce,
                PacketId = qos == MqttQualityOfService.AtMostOnce ? (ushort)0 : (ushort)65535,
                Properties = version == MqttProtocolVersion.V500 ? PublishProperties() : null,
            };

            var decoded = RoundTrip(packet, version);

            Assert.Equal(packet.Topic, decoded.Topic);
            Assert.Equal(300, decoded.Payload.Length);
            Assert.Equal(qos, decoded.QoS);
            Assert.True(decoded.Retain);
            Assert.Equal(packet.Dup, decoded.Dup);
            Assert.Equal(packet.PacketId, decoded.PacketId);
            if (version == MqttProtocolVersion.V500)
            {
                Assert.Equal("application/json", decoded.Properties!.ContentType);
                Assert.Equal(60u, decoded.Properties.MessageExpiryInterval);
                Assert.Equal([new("tenant", "ä-1"), new("tenant", "b-2")], decoded.Properties.UserProperties!);
                Assert.Equal(new byte[] { 1, 2, 3 }, decoded.Properties.CorrelationData!.Value.ToArray());
            }
        }
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public void Acknowledgements_round_trip(MqttProtocolVersion version)
    {
        foreach (var type in new[] { MqttPacketType.PubAck, MqttPacketType.PubRec, MqttPacketType.PubRel, MqttPacketType.PubComp })
        {
            var code = version == MqttProtocolVersion.V500 && type == MqttPacketType.PubAck ? MqttReasonCode.NoMatchingSubscribers : MqttReasonCode.Success;
            var packet = new MqttPublishAckPacket(type, 42, code)
            {
                Properties = version == MqttProtocolVersion.V500 ? new MqttProperties { ReasonString = "why" } : null,
            };

            var decoded = RoundTrip(packet, version);

            Assert.Equal(type, decoded.Type);
            Assert.Equal(42, decoded.PacketId);
            Assert.Equal(code, decoded.ReasonCode);
            Assert.Equal(version == MqttProtocolVersion.V500 ? "why" : null, decoded.Properties?.ReasonString);
        }
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public void Subscribe_and_acknowledgements_round_trip(MqttProtocolVersion version)
    {
        var v5 = version == MqttProtocolVersion.V500;
        var subscribe = new MqttSubscribePacket
        {
            PacketId = 7,
            Subscriptions =
            [
                new MqttSubscription { Filter = "a/+/c", QoS = MqttQualityOfService.ExactlyOnce },
                new MqttSubscription
                {
                    Filter = "$share/g/x/#",
                    QoS = MqttQualityOfService.AtLeastOnce,
                    NoLocal = v5,
                    RetainAsPublished = v5,
                    RetainHandling = v5 ? MqttRetainHandling.DoNotSend : MqttRetainHandling.SendAtSubscribe,
                },
            ],
            Properties = v5 ? new MqttProperties { SubscriptionIdentifiers = [12345] } : null,
        };

        var decoded = RoundTrip(subscribe, version);
        Assert.Equal(subscribe.Subscriptions, decoded.Subscriptions);
        Assert.Equal(v5 ? [12345] : null, decoded.Properties?.SubscriptionIdentifiers);

        var subAck = RoundTrip(new MqttSubAckPacket { PacketId = 7, ReasonCodes = [MqttReasonCode.GrantedQoS2, MqttReasonCode.UnspecifiedError] }, version);
        Assert.Equal([MqttReasonCode.GrantedQoS2, MqttReasonCode.UnspecifiedError], subAck.ReasonCodes);

        var unsubscribe = RoundTrip(new MqttUnsubscribePacket { PacketId = 8, Filters = ["a/+/c", "b"] }, version);
        Assert.Equal(["a/+/c", "b"], unsubscribe.Filters);

        var unsubAck = RoundTrip(new MqttUnsubAckPacket { PacketId = 8, ReasonCodes = v5 ? [MqttReasonCode.Success, MqttReasonCode.NoSubscriptionExisted] : [] }, version);
        Assert.Equal(8, unsubAck.PacketId);
        Assert.Equal(v5 ? [MqttReasonCode.Success, MqttReasonCode.NoSubscriptionExisted] : [], unsubAck.ReasonCodes);
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public void Connack_ping_and_disconnect_round_trip(MqttProtocolVersion version)
    {
        var v5 = version == MqttProtocolVersion.V500;
        var connAck = RoundTrip(new MqttConnAckPacket
        {
            SessionPresent = true,
            ReasonCode = MqttReasonCode.BadUserNameOrPassword,
            Properties = v5 ? new MqttProperties { ReceiveMaximum = 20, SharedSubscriptionAvailable = true, AssignedClientIdentifier = "auto-1" } : null,
        }, version);
        Assert.True(connAck.SessionPresent);
        Assert.Equal(MqttReasonCode.BadUserNameOrPassword, connAck.ReasonCode);
        Assert.Equal(v5 ? (ushort)20 : null, connAck.Properties?.ReceiveMaximum);

        Assert.Same(MqttPingReqPacket.Instance, RoundTrip(MqttPingReqPacket.Instance, version));
        Assert.Same(MqttPingRespPacket.Instance, RoundTrip(MqttPingRespPacket.Instance, version));

        var disconnect = RoundTrip(new MqttDisconnectPacket
        {
            ReasonCode = v5 ? MqttReasonCode.DisconnectWithWillMessage : MqttReasonCode.NormalDisconnection,
            Properties = v5 ? new MqttProperties { ReasonString = "bye", SessionExpiryInterval = 0 } : null,
        }, version);
        Assert.Equal(v5 ? MqttReasonCode.DisconnectWithWillMessage : MqttReasonCode.NormalDisconnection, disconnect.ReasonCode);
        Assert.Equal(v5 ? "bye" : null, disconnect.Properties?.ReasonString);
    }

    [Fact]
    public void Auth_round_trips_in_mqtt5()
    {
        var auth = RoundTrip(new MqttAuthPacket
        {
            ReasonCode = MqttReasonCode.ContinueAuthentication,
            Properties = new MqttProperties { AuthenticationMethod = "SCRAM", AuthenticationData = new byte[] { 1 } },
        }, MqttProtocolVersion.V500);

        Assert.Equal(MqttReasonCode.ContinueAuthentication, auth.ReasonCode);
        Assert.Equal("SCRAM", auth.Properties!.AuthenticationMethod);
    }

    [Theory]
    [InlineData(0, new byte[] { 0x00 })]
    [InlineData(127, new byte[] { 0x7F })]
    [InlineData(128, new byte[] { 0x80, 0x01 })]
    [InlineData(16_383, new byte[] { 0xFF, 0x7F })]
    [InlineData(16_384, new byte[] { 0x80, 0x80, 0x01 })]
    [InlineData(2_097_152, new byte[] { 0x80, 0x80, 0x80, 0x01 })]
    public void Remaining_length_uses_the_minimal_variable_byte_encoding(int remainingLength, byte[] expected)
    {
        // A QoS 0 PUBLISH to topic "t" has a body of 2 (length) + 1 (topic) + payload bytes; PINGREQ has none.
        MqttPacket packet = remainingLength == 0
            ? MqttPingReqPacket.Instance
            : new MqttPublishPacket { Topic = "t", Payload = new byte[remainingLength - 3] };

        var bytes = Encode(packet, MqttProtocolVersion.V311);

        Assert.Equal(expected, bytes.AsSpan(1, expected.Length).ToArray());
        Assert.Equal(1 + expected.Length + remainingLength, bytes.Length);
    }

    [Fact]
    public void Packet_split_across_segments_decodes_and_partial_packet_waits_for_more()
    {
        var bytes = Encode(new MqttPublishPacket { Topic = "x/y", Payload = new byte[1000], QoS = MqttQualityOfService.AtLeastOnce, PacketId = 3 }, MqttProtocolVersion.V500);

        for (var cut = 0; cut < bytes.Length; cut += 97)
        {
            var partial = new ReadOnlySequence<byte>(bytes.AsMemory(0, cut));
            Assert.False(MqttPacketDecoder.TryDecode(ref partial, MqttProtocolVersion.V500, 0, out _));
        }

        var sequence = Segments.Create(bytes, 1, 2, 3, 500);
        Assert.True(MqttPacketDecoder.TryDecode(ref sequence, MqttProtocolVersion.V500, 0, out var packet));
        Assert.Equal(1000, Assert.IsType<MqttPublishPacket>(packet).Payload.Length);
    }

    [Theory]
    [InlineData(new byte[] { 0x30, 0x80, 0x00 }, MqttReasonCode.MalformedPacket)]
    [InlineData(new byte[] { 0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 }, MqttReasonCode.MalformedPacket)]
    [InlineData(new byte[] { 0x00, 0x00 }, MqttReasonCode.MalformedPacket)]
    [InlineData(new byte[] { 0x62, 0x02, 0x00, 0x00 }, MqttReasonCode.MalformedPacket)]
    [InlineData(new byte[] { 0x60, 0x02, 0x00, 0x01 }, MqttReasonCode.MalformedPacket)]
    [InlineData(new byte[] { 0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01 }, MqttReasonCode.MalformedPacket)]
    [InlineData(new byte[] { 0x38, 0x03, 0x00, 0x01, 0x61 }, MqttReasonCode.MalformedPacket)]
    [InlineData(new byte[] { 0x30, 0x03, 0x00, 0x01, 0x23 }, MqttReasonCode.TopicNameInvalid)]
    [InlineData(new byte[] { 0x30, 0x04, 0x00, 0x02, 0xC3, 0x28 }, MqttReasonCode.MalformedPacket)]
    [InlineData(new byte[] { 0x30, 0x03, 0x00, 0x01, 0x00 }, MqttReasonCode.MalformedPacket)]
    [InlineData(new byte[] { 0x82, 0x02, 0x00, 0x01 }, MqttReasonCode.ProtocolError)]
    [InlineData(new byte[] { 0xC0, 0x01, 0x00 }, MqttReasonCode.MalformedPacket)]
    [InlineData(new byte[] { 0x10, 0x07, 0x00, 0x04, 0x4D, 0x51, 0x54, 0x54, 0x03 }, MqttReasonCode.UnsupportedProtocolVersion)]
    public void Malformed_mqtt311_packets_raise_protocol_exception_with_reason(byte[] bytes, MqttReasonCode expected)
    {
        var sequence = new ReadOnlySequence<byte>(bytes);

        var exception = Assert.Throws<MqttProtocolException>(() => MqttPacketDecoder.TryDecode(ref sequence, MqttProtocolVersion.V311, 0, out _));

        Assert.Equal(expected, exception.ReasonCode);
    }

    [Theory]
    [InlineData(new byte[] { 0x40, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00 }, MqttReasonCode.MalformedPacket)]
    [InlineData(new byte[] { 0x40, 0x03, 0x00, 0x01, 0x05 }, MqttReasonCode.MalformedPacket)]
    [InlineData(new byte[] { 0x40, 0x06, 0x00, 0x01, 0x00, 0x02, 0x11, 0x00 }, MqttReasonCode.MalformedPacket)]
    [InlineData(new byte[] { 0x30, 0x09, 0x00, 0x01, 0x61, 0x04, 0x01, 0x01, 0x01, 0x01, 0x41 }, MqttReasonCode.ProtocolError)]
    [InlineData(new byte[] { 0x30, 0x06, 0x00, 0x01, 0x61, 0x02, 0x01, 0x02 }, MqttReasonCode.ProtocolError)]
    [InlineData(new byte[] { 0xF0, 0x01, 0x07 }, MqttReasonCode.MalformedPacket)]
    public void Malformed_mqtt5_packets_raise_protocol_exception_with_reason(byte[] bytes, MqttReasonCode expected)
    {
        var sequence = new ReadOnlySequence<byte>(bytes);

        var exception = Assert.Throws<MqttProtocolException>(() => MqttPacketDecoder.TryDecode(ref sequence, MqttProtocolVersion.V500, 0, out _));

        Assert.Equal(expected, exception.ReasonCode);
    }

    [Fact]
    public void Packet_larger_than_the_maximum_is_rejected_before_it_is_buffered()
    {
        var sequence = new ReadOnlySequence<byte>(new byte[] { 0x30, 0xFF, 0x7F });

        var exception = Assert.Throws<MqttProtocolException>(() => MqttPacketDecoder.TryDecode(ref sequence, MqttProtocolVersion.V500, 1024, out _));

        Assert.Equal(MqttReasonCode.PacketTooLarge, exception.ReasonCode);
    }

    [Fact]
    public void Random_bytes_only_ever_decode_or_raise_the_protocol_exception()
    {
        var random = new Random(20261121);
        var decoded = 0;
        var rejected = 0;
        for (var i = 0; i < 100_000; i++)
        {
            var bytes = new byte[random.Next(1, 40)];
            random.NextBytes(bytes);
            // Keep the remaining length plausible so most inputs reach the body decoders.
            if (bytes.Length > 1 && random.Next(2) == 0)
            {
                bytes[1] = (byte)(bytes.Length - 2);
            }

            foreach (var version in new[] { MqttProtocolVersion.V311, MqttProtocolVersion.V500 })
            {
                Outcome(bytes, version, ref decoded, ref rejected);
            }
        }

        Assert.True(decoded > 0, "some random inputs should be valid packets");
        Assert.True(rejected > 0, "some random inputs should be rejected");
    }

    [Fact]
    public void Truncated_and_mutated_valid_packets_only_ever_decode_or_raise_the_protocol_exception()
    {
        var random = new Random(5);
        var samples = new MqttPacket[]
        {
            new MqttConnectPacket { ClientId = "c", Username = "u", Password = new byte[] { 1 }, Will = new MqttWill { Topic = "w", Properties = new MqttProperties { WillDelayInterval = 1 } }, Properties = new MqttProperties { SessionExpiryInterval = 9 } },
            new MqttConnAckPacket { Properties = new MqttProperties { ReceiveMaximum = 5, ReasonString = "ok" } },
            new MqttPublishPacket { Topic = "t/1", QoS = MqttQualityOfService.ExactlyOnce, PacketId = 4, Payload = new byte[] { 1, 2 }, Properties = PublishProperties() },
            new MqttPublishAckPacket(MqttPacketType.PubRel, 2) { Properties = new MqttProperties { ReasonString = "r" } },
            new MqttSubscribePacket { PacketId = 1, Subscriptions = [new MqttSubscription { Filter = "a/#", QoS = MqttQualityOfService.AtLeastOnce }] },
            new MqttSubAckPacket { PacketId = 1, ReasonCodes = [MqttReasonCode.GrantedQoS1] },
            new MqttUnsubscribePacket { PacketId = 1, Filters = ["a"] },
            new MqttUnsubAckPacket { PacketId = 1, ReasonCodes = [MqttReasonCode.Success] },
            new MqttDisconnectPacket { ReasonCode = MqttReasonCode.ServerBusy, Properties = new MqttProperties { ReasonString = "x" } },
            new MqttAuthPacket { ReasonCode = MqttReasonCode.ReAuthenticate, Properties = new MqttProperties { AuthenticationMethod = "m" } },
        };

        var decoded = 0;
        var rejected = 0;
        foreach (var version in new[] { MqttProtocolVersion.V311, MqttProtocolVersion.V500 })
        {
            foreach (var sample in samples)
            {
                if (sample is MqttAuthPacket && version == MqttProtocolVersion.V311)
                {
                    continue;
                }

                var bytes = Encode(sample, version);
                for (var cut = 0; cut < bytes.Length; cut++)
                {
                    // Truncated body with a corrected remaining length: the decoder sees a complete but short packet.
                    var truncated = bytes[..cut];
                    if (truncated.Length >= 2 && bytes[1] < 128)
                    {
                        truncated[1] = (byte)(truncated.Length - 2);
                    }

                    Outcome(truncated, version, ref decoded, ref rejected);
                }

                for (var i = 0; i < 2_000; i++)
                {
                    var mutated = (byte[])bytes.Clone();
                    mutated[random.Next(mutated.Length)] = (byte)random.Next(256);
                    Outcome(mutated, version, ref decoded, ref rejected);
                }
            }
        }

        Assert.True(decoded > 0);
        Assert.True(rejected > 0);
    }

    private static void Outcome(byte[] bytes, MqttProtocolVersion version, ref int decoded, ref int rejected)
    {
        var sequence = new ReadOnlySequence<byte>(bytes);
        try
        {
            while (MqttPacketDecoder.TryDecode(ref sequence, version, 0, out var packet))
            {
                Assert.NotNull(packet);
                decoded++;
            }
        }
        catch (MqttProtocolException e)
        {
            Assert.True(Enum.IsDefined(e.ReasonCode) && (byte)e.ReasonCode >= 0x80, $"reason {e.ReasonCode}");
            rejected++;
        }
    }
}

/// <summary>Builds a multi-segment <see cref="ReadOnlySequence{T}"/> to exercise segment boundaries.</summary>
internal sealed class Segments : ReadOnlySequenceSegment<byte>
{
    private Segments(ReadOnlyMemory<byte> memory, long runningIndex)
    {
        Memory = memory;
        RunningIndex = runningIndex;
    }

    public static ReadOnlySequence<byte> Create(byte[] bytes, params int[] cuts)
    {
        var first = new Segments(bytes.AsMemory(0, cuts[0]), 0);
        var last = first;
        var start = cuts[0];
        foreach (var cut in cuts.Skip(1).Append(bytes.Length))
        {
            var next = new Segments(bytes.AsMemory(start, cut - start), start);
            last.Next = next;
            last = next;
            start = cut;
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }
}
