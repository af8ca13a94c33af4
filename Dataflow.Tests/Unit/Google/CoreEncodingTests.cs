using System.Text.Json;
using Dataflow.Google.Core;

namespace Dataflow.Tests.Unit.Google;

[Trait("Category", "Unit")]
public sealed class CoreEncodingTests
{
    private static readonly JsonSerializerOptions Options = new()
    {
        Converters = { new DurationJsonConverter(), new TimestampJsonConverter() },
    };

    [Theory]
    [InlineData("127.0.0.1:8085", "http://127.0.0.1:8085/")]
    [InlineData("localhost:9023", "http://localhost:9023/")]
    [InlineData("http://127.0.0.1:9023", "http://127.0.0.1:9023/")]
    [InlineData("https://storage.example.com/base", "https://storage.example.com/base/")]
    public void Emulator_host_accepts_host_port_or_url(string value, string expected)
    {
        var endpoint = GoogleEndpoint.Resolve(value, null, "https://pubsub.googleapis.com/");

        Assert.True(endpoint.IsEmulator);
        Assert.Equal(expected, endpoint.BaseAddress.ToString());
    }

    [Fact]
    public void Without_emulator_the_explicit_endpoint_or_production_is_used()
    {
        Assert.Equal(new GoogleEndpoint(new Uri("https://pubsub.googleapis.com/"), false), GoogleEndpoint.Resolve(null, null, "https://pubsub.googleapis.com/"));
        Assert.Equal("https://eu-pubsub.example/", GoogleEndpoint.Resolve("", "https://eu-pubsub.example", "https://pubsub.googleapis.com/").BaseAddress.ToString());
    }

    [Theory]
    [InlineData("ftp://x:1")]
    [InlineData("::::")]
    public void Malformed_host_is_rejected(string value) =>
        Assert.Throws<FormatException>(() => GoogleEndpoint.ParseHost(value));

    [Theory]
    [InlineData("\"600s\"", 600_000)]
    [InlineData("\"0.5s\"", 500)]
    [InlineData("\"3.000000001s\"", 3000)]
    public void Duration_reads_protobuf_json(string json, int milliseconds) =>
        Assert.Equal(milliseconds, (int)JsonSerializer.Deserialize<TimeSpan>(json, Options).TotalMilliseconds);

    [Fact]
    public void Duration_writes_seconds_with_suffix()
    {
        Assert.Equal("\"600s\"", JsonSerializer.Serialize(TimeSpan.FromMinutes(10), Options));
        Assert.Equal("\"1.25s\"", JsonSerializer.Serialize(TimeSpan.FromMilliseconds(1250), Options));
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<TimeSpan>("\"10m\"", Options));
    }

    [Fact]
    public void Timestamp_with_nanoseconds_is_truncated_to_ticks_and_written_in_utc()
    {
        var value = JsonSerializer.Deserialize<DateTimeOffset>("\"2024-05-01T10:00:00.123456789Z\"", Options);

        Assert.Equal(new DateTimeOffset(2024, 5, 1, 10, 0, 0, TimeSpan.Zero).AddTicks(1_234_567), value);
        Assert.Equal("\"2024-05-01T10:00:00.1234567Z\"", JsonSerializer.Serialize(value, Options));
        Assert.Equal(
            new DateTimeOffset(2024, 5, 1, 8, 0, 0, TimeSpan.Zero),
            JsonSerializer.Deserialize<DateTimeOffset>("\"2024-05-01T10:00:00+02:00\"", Options));
    }

    [Fact]
    public void Int64_is_written_as_string_and_read_from_string_or_number()
    {
        var options = new JsonSerializerOptions { Converters = { new Int64StringJsonConverter() } };

        Assert.Equal("\"9223372036854775807\"", JsonSerializer.Serialize(long.MaxValue, options));
        Assert.Equal(-42, JsonSerializer.Deserialize<long>("\"-42\"", options));
        Assert.Equal(42, JsonSerializer.Deserialize<long>("42", options));
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<long>("\"4x\"", options));
    }
}
