using System.Text;
using System.Text.Json;
using Dataflow.Pipeline.Envelopes;

namespace Dataflow.Tests.Unit.Pipeline;

[Trait("Category", "Unit")]
public sealed class EnvelopeCodecTests
{
    // The spec's reference envelope, as printed there (with cosmetic spaces).
    private const string SpecSample =
        """{"id": "msg-1", "payload": "eyJ0ZW1wIjoyMS41fQ==", "publishTime": "2026-11-21T12:00:00.123456789Z", "enrichmentData": {"DeviceID": "dev-1", "name": "Boiler", "location": "hall-a"}}""";

    // What Go's encoding/json writes for the same envelope: compact, struct field order, map keys sorted.
    private const string GoEncoded =
        """{"id":"msg-1","payload":"eyJ0ZW1wIjoyMS41fQ==","publishTime":"2026-11-21T12:00:00.123456789Z","enrichmentData":{"DeviceID":"dev-1","location":"hall-a","name":"Boiler"}}""";

    [Fact]
    public void Decodes_the_spec_reference_envelope()
    {
        Assert.True(EnvelopeCodec.TryDecode(Encoding.UTF8.GetBytes(SpecSample), out var envelope));

        Assert.Equal("msg-1", envelope.Id);
        Assert.Equal("""{"temp":21.5}""", Encoding.UTF8.GetString(envelope.Payload.Span));
        Assert.Equal(123456789, envelope.PublishTime.Nanoseconds);
        Assert.Equal(new DateTimeOffset(2026, 11, 21, 12, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds(), envelope.PublishTime.UnixSeconds);
        Assert.Equal("dev-1", envelope.GetEnrichmentString("DeviceID"));
        Assert.Equal("Boiler", envelope.GetEnrichmentString("name"));
        Assert.Equal("hall-a", envelope.GetEnrichmentString("location"));
    }

    [Fact]
    public void Encoding_the_reference_envelope_gives_the_bytes_go_writes()
    {
        Assert.True(EnvelopeCodec.TryDecode(Encoding.UTF8.GetBytes(SpecSample), out var envelope));

        Assert.Equal(GoEncoded, Encoding.UTF8.GetString(EnvelopeCodec.Encode(envelope)));
    }

    [Fact]
    public void Go_encoded_envelope_round_trips_byte_for_byte()
    {
        var bytes = Encoding.UTF8.GetBytes(GoEncoded);

        Assert.True(EnvelopeCodec.TryDecode(bytes, out var envelope));
        Assert.Equal(bytes, EnvelopeCodec.Encode(envelope));
    }

    [Fact]
    public void Empty_enrichment_data_is_omitted()
    {
        var envelope = new Envelope("a", new byte[] { 1, 2, 3 }, new RfcTimestamp(0, 0), new Dictionary<string, JsonElement>());

        Assert.Equal("""{"id":"a","payload":"AQID","publishTime":"1970-01-01T00:00:00Z"}""", Encoding.UTF8.GetString(EnvelopeCodec.Encode(envelope)));
    }

    [Fact]
    public void Strings_are_escaped_like_go_html_safe_encoding()
    {
        var envelope = new Envelope(
            "<id>&\"\\\n\t\u0001\u2028é",
            Array.Empty<byte>(),
            new RfcTimestamp(1, 500_000_000),
            new Dictionary<string, JsonElement> { ["b"] = Envelope.StringValue("x"), ["a"] = JsonSerializer.SerializeToElement(5) });

        var json = Encoding.UTF8.GetString(EnvelopeCodec.Encode(envelope));

        Assert.Equal(
            """{"id":"\u003cid\u003e\u0026\"\\\n\t\u0001\u2028é","payload":"","publishTime":"1970-01-01T00:00:01.5Z","enrichmentData":{"a":5,"b":"x"}}""",
            json);
        Assert.True(EnvelopeCodec.TryDecode(Encoding.UTF8.GetBytes(json), out var decoded));
        Assert.Equal(envelope.Id, decoded.Id);
    }

    [Fact]
    public void Printable_ascii_is_written_as_is_except_the_five_characters_go_escapes()
    {
        var printable = new string([.. Enumerable.Range(0x20, 0x7F - 0x20).Select(c => (char)c)]);
        var envelope = new Envelope(printable, Array.Empty<byte>(), new RfcTimestamp(0, 0), null);

        var json = Encoding.UTF8.GetString(EnvelopeCodec.Encode(envelope));

        var expected = printable.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)
            .Replace("&", "\\u0026", StringComparison.Ordinal).Replace("<", "\\u003c", StringComparison.Ordinal).Replace(">", "\\u003e", StringComparison.Ordinal);
        Assert.Equal($$"""{"id":"{{expected}}","payload":"","publishTime":"1970-01-01T00:00:00Z"}""", json);
    }

    [Fact]
    public void Consecutive_encodings_on_one_thread_are_independent_whatever_their_sizes()
    {
        var large = new Envelope("large", new byte[3 * 1024 * 1024], new RfcTimestamp(0, 0), null);
        var small = new Envelope("small", new byte[] { 1, 2, 3 }, new RfcTimestamp(0, 0), null);

        var first = EnvelopeCodec.Encode(large);
        var second = EnvelopeCodec.Encode(small);
        var third = EnvelopeCodec.Encode(small);

        Assert.True(EnvelopeCodec.TryDecode(first, out var decodedLarge));
        Assert.Equal(large.Payload.Length, decodedLarge.Payload.Length);
        Assert.Equal("""{"id":"small","payload":"AQID","publishTime":"1970-01-01T00:00:00Z"}""", Encoding.UTF8.GetString(second));
        Assert.Equal(second, third);
    }

    [Fact]
    public void Round_trip_keeps_payload_bytes_time_offset_and_nested_enrichment()
    {
        var payload = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        Assert.True(RfcTimestamp.TryParse("2026-03-04T05:06:07.000000001+02:30", out var time));
        using var nested = JsonDocument.Parse("""{"z":[1,"two",{"y":null,"x":true}]}""");
        var envelope = new Envelope("id-1", payload, time.Value, new Dictionary<string, JsonElement> { ["extra"] = nested.RootElement.Clone() });

        var bytes = EnvelopeCodec.Encode(envelope);

        Assert.True(EnvelopeCodec.TryDecode(bytes, out var decoded));
        Assert.Equal(payload, decoded.Payload.ToArray());
        Assert.Equal(time.Value, decoded.PublishTime);
        Assert.Equal("2026-03-04T05:06:07.000000001+02:30", decoded.PublishTime.ToString());
        Assert.Contains("""{"z":[1,"two",{"x":true,"y":null}]}""", Encoding.UTF8.GetString(bytes), StringComparison.Ordinal);
        Assert.Equal(bytes, EnvelopeCodec.Encode(decoded));
    }

    [Theory]
    [InlineData("""{"temp": 21.5}""")]
    [InlineData("""{"id":"a","publishTime":"2026-11-21T12:00:00Z"}""")]
    [InlineData("""{"id":"a","payload":"not base64!","publishTime":"2026-11-21T12:00:00Z"}""")]
    [InlineData("""{"id":"a","payload":"AQID","publishTime":"yesterday"}""")]
    [InlineData("""{"id":"a","payload":"AQID"}""")]
    [InlineData("""{"id":7,"payload":"AQID","publishTime":"2026-11-21T12:00:00Z"}""")]
    [InlineData("""{"id":"a","payload":"AQID","publishTime":"2026-11-21T12:00:00Z","enrichmentData":[1]}""")]
    [InlineData("""[{"id":"a","payload":"AQID","publishTime":"2026-11-21T12:00:00Z"}]""")]
    [InlineData("""{"id":"a","payload":"AQID","publishTime":"2026-11-21T12:00:00Z"} trailing""")]
    [InlineData("""{"id":"a",""")]
    [InlineData("plain text")]
    [InlineData("")]
    public void Anything_but_a_real_envelope_is_rejected(string json)
    {
        Assert.False(EnvelopeCodec.TryDecode(Encoding.UTF8.GetBytes(json), out var envelope));
        Assert.Null(envelope);
    }

    [Theory]
    [InlineData("2026-11-21T12:00:00Z", 0)]
    [InlineData("2026-11-21T12:00:00.1Z", 100_000_000)]
    [InlineData("2026-11-21T12:00:00.12345Z", 123_450_000)]
    [InlineData("2026-11-21T12:00:00.999999999Z", 999_999_999)]
    public void Timestamps_format_like_go_rfc3339nano(string text, int nanoseconds)
    {
        Assert.True(RfcTimestamp.TryParse(text, out var time));

        Assert.Equal(nanoseconds, time.Value.Nanoseconds);
        Assert.Equal(text, time.Value.ToString());
    }

    [Fact]
    public void Trailing_zeros_of_the_fraction_are_dropped_like_go()
    {
        Assert.True(RfcTimestamp.TryParse("2026-11-21T12:00:00.120000Z", out var time));

        Assert.Equal("2026-11-21T12:00:00.12Z", time.Value.ToString());
    }

    [Theory]
    [InlineData("2026-02-30T12:00:00Z")]
    [InlineData("2026-11-21T24:00:00Z")]
    [InlineData("2026-11-21T12:00:00")]
    [InlineData("2026-11-21T12:00:00.Z")]
    [InlineData("2026-11-21T12:00:00.1234567890Z")]
    [InlineData("2026-11-21 12:00:00Z")]
    [InlineData("2026-11-21T12:00:00+0200")]
    public void Invalid_timestamps_are_rejected(string text) => Assert.False(RfcTimestamp.TryParse(text, out _));

    [Fact]
    public void Converting_from_date_time_offset_keeps_ticks_and_offset()
    {
        var value = new DateTimeOffset(2026, 11, 21, 12, 0, 0, TimeSpan.FromHours(-5)).AddTicks(1234567);

        var time = RfcTimestamp.FromDateTimeOffset(value);

        Assert.Equal("2026-11-21T12:00:00.1234567-05:00", time.ToString());
        Assert.Equal(value, time.ToDateTimeOffset());
    }
}
